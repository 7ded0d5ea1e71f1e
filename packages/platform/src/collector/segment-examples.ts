/**
 * Test data: the example calls of the Segment spec (segment.com/docs/connections/spec: identify, track, page,
 * screen, group, alias), as analytics.js and the spec show them, with the spec's own message ids. Shared by the
 * wire mapper's tests and the end-to-end tests of the Segment API, which adapt them to what each checks.
 * Each call is a function so that every test gets its own copy to spread and change.
 */

/** The browser of the spec's examples. */
export const macChrome =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_12_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/59.0.3071.115 Safari/537.36';

/** The fields every example but track's has alike: the spec's message id (a UUID), times, version and user. */
const specCommon = {
  messageId: '022bb90c-bbac-11e4-8dfc-aa07a5b093db',
  receivedAt: '2015-02-23T22:28:55.387Z',
  sentAt: '2015-02-23T22:28:55.111Z',
  timestamp: '2015-02-23T22:28:55.111Z',
  version: '1.1',
  userId: '97980cfea0067',
};

/** The visitor and browser of the spec's web examples; a function, for a context of each call's own. */
const fromTheBrowser = () => ({
  anonymousId: '507f191e810c19729de860ea',
  channel: 'browser',
  context: { ip: '8.8.8.8', userAgent: macChrome },
});

export const segmentExamples = {
  identify: () => ({
    ...fromTheBrowser(),
    integrations: { All: false, Mixpanel: true, Salesforce: true },
    ...specCommon,
    traits: {
      name: 'Peter Gibbons',
      email: 'peter@example.com',
      plan: 'premium',
      logins: 5,
      address: { street: '6th St', city: 'San Francisco', state: 'CA', postalCode: '94103', country: 'USA' },
    },
    type: 'identify',
  }),
  /** As analytics.js sends it: its message id is not a UUID. */
  track: () => ({
    anonymousId: '23adfd82-aa0f-45a7-a756-24f2a7a4c895',
    context: {
      library: { name: 'analytics.js', version: '2.11.1' },
      page: {
        path: '/academy/',
        referrer: '',
        search: '',
        title: 'Analytics Academy',
        url: 'https://segment.com/academy/',
      },
      userAgent: macChrome,
      ip: '108.0.78.21',
    },
    event: 'Course Clicked',
    integrations: {},
    messageId: 'ajs-f8ca1e4de5024d9430b3928bd8ac6b96',
    properties: { title: 'Intro to Analytics' },
    receivedAt: '2015-12-12T19:11:01.266Z',
    sentAt: '2015-12-12T19:11:01.169Z',
    timestamp: '2015-12-12T19:11:01.249Z',
    type: 'track',
    userId: 'AiUGstSDIg',
    originalTimestamp: '2015-12-12T19:11:01.152Z',
  }),
  page: () => ({
    ...fromTheBrowser(),
    integrations: { All: true, Mixpanel: false, Salesforce: false },
    name: 'Home',
    properties: { title: 'Welcome | Initech', url: 'http://www.example.com' },
    ...specCommon,
    type: 'page',
  }),
  /** From a mobile app: no user agent. */
  screen: () => ({
    anonymousId: '3a12eab0-bca7-11e4-8dfc-aa07a5b093db',
    channel: 'mobile',
    context: { ip: '8.8.8.8' },
    integrations: { All: true, Mixpanel: false, Salesforce: false },
    name: 'Home',
    properties: { 'Feed Type': 'private' },
    ...specCommon,
    type: 'screen',
  }),
  group: () => ({
    ...fromTheBrowser(),
    groupId: '0e8c78ea9d97a7b8185e8632',
    integrations: { All: true, Mixpanel: false, Salesforce: false },
    ...specCommon,
    traits: {
      name: 'Initech',
      industry: 'Technology',
      employees: 329,
      plan: 'enterprise',
      'total billed': 830,
    },
    type: 'group',
  }),
  alias: () => ({
    ...fromTheBrowser(),
    integrations: { All: true, Mixpanel: false, Salesforce: false },
    previousId: '39239-239239-239239-23923',
    ...specCommon,
    type: 'alias',
    // The id the user is known by from now on.
    userId: '507f191e81',
  }),
};
