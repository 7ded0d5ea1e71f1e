import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchLength, bodyBytes, requestBody, utf8Bytes } from './batches.ts';

const sentAt = '2030-01-02T03:04:05.678Z';

const arbitraryEvent = fc
  .record({ id: fc.uuid(), note: fc.string({ maxLength: 400, unit: 'grapheme' }) })
  .map((fields) => {
    const json = JSON.stringify(fields);
    return { id: fields.id, json, bytes: utf8Bytes(json) };
  });

describe('requestBody', () => {
  it('is a JSON array of the events with sentAt added, of the size bodyBytes says', () => {
    fc.assert(
      fc.property(fc.array(arbitraryEvent, { maxLength: 30 }), (events) => {
        const body = requestBody(events, sentAt);
        expect(JSON.parse(body)).toEqual(events.map((event) => ({ sentAt, ...JSON.parse(event.json) })));
        expect(utf8Bytes(body)).toBe(bodyBytes(events));
      }),
    );
  });
});

describe('batchLength', () => {
  it('splits a queue into batches that keep the order, the count limit and the byte limit', () => {
    fc.assert(
      fc.property(
        fc.array(arbitraryEvent, { maxLength: 120 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 50, max: 5000 }),
        (events, maxEvents, maxBytes) => {
          const batches: (typeof events)[] = [];
          for (let rest = events; rest.length; ) {
            const n = batchLength(rest, maxEvents, maxBytes);
            expect(n).toBeGreaterThan(0);
            batches.push(rest.slice(0, n));
            rest = rest.slice(n);
          }
          expect(batches.flat()).toEqual(events);
          for (const batch of batches) {
            expect(batch.length).toBeLessThanOrEqual(maxEvents);
            if (batch.length > 1) expect(utf8Bytes(requestBody(batch, sentAt))).toBeLessThanOrEqual(maxBytes);
          }
        },
      ),
    );
  });

  it('fills a batch as far as the limits allow', () => {
    const events = Array.from({ length: 10 }, () => ({ bytes: 100 }));
    expect(batchLength(events, 50, bodyBytes(events.slice(0, 4)))).toBe(4);
    expect(batchLength(events, 3, 1_000_000)).toBe(3);
    expect(batchLength([{ bytes: 10_000 }], 50, 100)).toBe(1);
  });
});
