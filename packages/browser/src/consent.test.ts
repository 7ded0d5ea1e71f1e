import { type Purpose, registeredEventNames, registeredEvents } from '@deepref/schema';
import { describe, expect, it } from 'vitest';
import { decide, effectiveConsent, purposesOf } from './consent.ts';

describe('purposesOf', () => {
  it('gives every registered event the purposes @deepref/schema declares', () => {
    for (const name of registeredEventNames) {
      expect([name, purposesOf(name)]).toEqual([name, [...registeredEvents[name].purposes]]);
    }
  });

  it('gives a custom event analytics', () => {
    expect(purposesOf('checkout_wizard_step')).toEqual(['analytics']);
  });
});

describe('decide', () => {
  it('denies when any purpose is denied, waits when any is undecided', () => {
    const both: Purpose[] = ['analytics', 'marketing'];
    expect(decide(both, { analytics: true, marketing: true })).toBe('granted');
    expect(decide(both, { analytics: true })).toBe('pending');
    expect(decide(both, { marketing: false })).toBe('denied');
    expect(decide([], {})).toBe('granted');
  });
});

describe('effectiveConsent', () => {
  it('grants data collection and analytics by default and leaves marketing undecided', () => {
    expect(effectiveConsent(undefined, false)).toEqual({ data_collection: true, analytics: true });
  });

  it("leaves everything undecided with 'pending'", () => {
    expect(effectiveConsent('pending', false)).toEqual({});
  });

  it('denies all but data collection under Do Not Track or Global Privacy Control, whatever the site says', () => {
    expect(effectiveConsent({ analytics: true, marketing: true }, true)).toEqual({
      data_collection: true,
      analytics: false,
      marketing: false,
      osint_enrichment: false,
    });
  });

  it("lets the visitor's own choice win over the site's default and the privacy signal", () => {
    expect(effectiveConsent('pending', true, { analytics: true })).toMatchObject({
      analytics: true,
      marketing: false,
    });
    expect(effectiveConsent(undefined, false, { analytics: false })).toMatchObject({ analytics: false });
  });
});
