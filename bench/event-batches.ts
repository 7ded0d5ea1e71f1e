/**
 * Request bodies for the ingest benchmark: batches of realistic events (page views, prompt submissions and server
 * API latencies, each with the context an SDK sends, 500–700 bytes of JSON) whose eventIds never repeat.
 *
 * Every event is rendered once, as JSON text cut around its eventId; a body is the pieces joined around a counter.
 * Making a body then costs a string join, so the load generator spends its time sending rather than building JSON.
 */
import { randomBytes, randomUUID } from 'node:crypto';

const templateCount = 240;

const userAgents = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
];
const pages = [
  ['/app/documents', 'Documents'],
  ['/app/documents/8f2c/edit', 'Quarterly plan – Editor'],
  ['/app/chat', 'Assistant'],
  ['/app/search', 'Search'],
  ['/pricing', 'Pricing'],
  ['/app/settings/team', 'Team settings'],
] as const;
const models = ['gpt-4o', 'claude-sonnet-4', 'mistral-large-2'];
const endpoints = [
  ['/api/documents/:id', 'GET'],
  ['/api/documents', 'POST'],
  ['/api/chat/completions', 'POST'],
  ['/api/search', 'GET'],
] as const;

/** Event `i` of the template set, with `eventId` the given placeholder. */
function templateEvent(i: number, eventId: string, start: number): Record<string, unknown> {
  const user = `user_${(i * 7919) % 1000}`;
  const session = `sess_${user}_${Math.floor(i / 24)}`;
  const timestamp = new Date(start + i * 1_250).toISOString();
  const sentAt = new Date(start + i * 1_250 + 2_000).toISOString();
  const [path, title] = pages[i % pages.length]!;
  const browser = {
    page: { url: `https://app.example.com${path}`, title, referrer: 'https://app.example.com/app' },
    userAgent: userAgents[i % userAgents.length],
    locale: 'en-US',
    timezone: 'Europe/Berlin',
    screen: { width: 1920, height: 1080, density: 1 },
    viewport: { width: 1440, height: 900 },
    library: { name: '@deepref/browser', version: '0.1.0' },
  };
  const kind = i % 4;
  if (kind === 0 || kind === 1) {
    return {
      eventId,
      eventName: 'page_view',
      timestamp,
      sentAt,
      sessionId: session,
      userId: user,
      properties: { path, title },
      context: browser,
    };
  }
  if (kind === 2) {
    return {
      eventId,
      eventName: 'prompt_submission',
      timestamp,
      sentAt,
      sessionId: session,
      userId: user,
      properties: {
        prompt_id: randomUUID(),
        model_used: models[i % models.length],
        prompt_length: 120 + ((i * 37) % 900),
        conversation_id: `conv_${(i * 13) % 97}`,
        context: 'chat',
        language: 'en',
      },
      context: browser,
    };
  }
  const [endpoint, method] = endpoints[i % endpoints.length]!;
  return {
    eventId,
    eventName: 'api_latency',
    timestamp,
    sentAt,
    sessionId: session,
    userId: user,
    properties: {
      endpoint,
      method,
      status_code: i % 29 === 0 ? 500 : 200,
      duration_ms: 12 + ((i * 53) % 480),
      request_bytes: 512 + ((i * 97) % 4096),
      response_bytes: 2048 + ((i * 131) % 65536),
      service: 'api',
      request_id: `req_${randomBytes(8).toString('hex')}`,
    },
    context: {
      library: { name: '@deepref/node', version: '0.1.0' },
      userAgent: 'deepref-node/0.1.0 (node 20.20.2; linux x64)',
      locale: 'en-US',
    },
  };
}

export interface EventBatches {
  /** The next body: a JSON array of `batchSize` events with ids never used before in this process. */
  next(): string;
  /** Events handed out so far. */
  readonly events: number;
  /** Mean bytes of JSON per event. */
  readonly meanEventBytes: number;
}

const mask24 = 0xffffff;

/** A bijection of 48-bit numbers (a 3-round Feistel network on 24-bit halves), as 12 hex digits. */
function scramble48(n: number): string {
  let hi = Math.floor(n / 0x1000000) & mask24;
  let lo = n & mask24;
  for (const key of [0x5bd1e995, 0x27d4eb2f, 0x165667b1]) {
    const mixed = (Math.imul(lo ^ key, 0x9e3779b1) >>> 8) & mask24;
    [hi, lo] = [lo, hi ^ mixed];
  }
  return hi.toString(16).padStart(6, '0') + lo.toString(16).padStart(6, '0');
}

/**
 * Bodies of `batchSize` events. An id is `<8 hex>-<run>-<12 hex>`: the last 12 digits a bijection of a counter
 * (unique), the first 8 a hash of it, and the middle random per run (two runs never collide). Scrambled rather than
 * sequential because real ids are random uuids, and the dedup index of the log behaves very differently with
 * ascending keys (every insert at the right edge of the B-tree, one bucket).
 */
export function eventBatches(batchSize: number): EventBatches {
  const run = randomBytes(5).toString('hex');
  const middle = `-${run.slice(0, 4)}-4${run.slice(4, 7)}-9${run.slice(7, 10)}-`;
  const placeholder = `HHHHHHHH${middle}LLLLLLLLLLLL`;
  const start = Date.now() - 3_600_000;
  const heads: string[] = [];
  const tails: string[] = [];
  let totalBytes = 0;
  for (let i = 0; i < templateCount; i++) {
    const json = JSON.stringify(templateEvent(i, placeholder, start));
    heads.push(json.slice(0, json.indexOf('HHHHHHHH')));
    tails.push(json.slice(json.indexOf('LLLLLLLLLLLL') + 12));
    totalBytes += json.length;
  }
  let counter = 0;
  let template = 0;
  return {
    next() {
      let body = '[';
      for (let i = 0; i < batchSize; i++) {
        if (i > 0) body += ',';
        const n = counter++;
        const high = (Math.imul(n ^ 0x2545f491, 0x85ebca6b) >>> 0).toString(16).padStart(8, '0');
        body += heads[template]! + high + middle + scramble48(n) + tails[template]!;
        template = template + 1 === templateCount ? 0 : template + 1;
      }
      return `${body}]`;
    },
    get events() {
      return counter;
    },
    meanEventBytes: totalBytes / templateCount,
  };
}
