import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { uuidv4, uuidv7 } from './ids.ts';

const v7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const v4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidv7', () => {
  it('puts the millisecond timestamp in the first 48 bits', () => {
    const at = Date.UTC(2030, 0, 2, 3, 4, 5, 678);
    const id = uuidv7(at);
    expect(id).toMatch(v7);
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
  });

  it('makes ids that sort in the order they were made, even when the clock stalls or steps back', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1_700_000_000_000, max: 1_900_000_000_000 }),
        fc.array(fc.integer({ min: -5, max: 3 }), { minLength: 1, maxLength: 300 }),
        (start, steps) => {
          let now = start;
          let previous = uuidv7(now);
          for (const step of steps) {
            now += step;
            const id = uuidv7(now);
            expect(id).toMatch(v7);
            expect(id > previous).toBe(true);
            previous = id;
          }
        },
      ),
    );
  });

  it('counts past 4096 ids in one millisecond without repeating or going backwards', () => {
    const at = 2_000_000_000_000;
    const ids = Array.from({ length: 10_000 }, () => uuidv7(at));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });
});

describe('uuidv4', () => {
  it('is a random version 4 UUID', () => {
    const ids = Array.from({ length: 1000 }, uuidv4);
    for (const id of ids) expect(id).toMatch(v4);
    expect(new Set(ids).size).toBe(1000);
  });
});
