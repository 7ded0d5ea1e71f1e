import { describe, expect, it } from 'vitest';
import { anonymousId, touchSession } from './identity.ts';
import { memoryKv } from './storage.ts';

const minutes = 60_000;

describe('touchSession', () => {
  it('keeps the session while events come within 30 minutes of each other', () => {
    const kv = memoryKv();
    const start = touchSession(kv, 0, 30 * minutes);
    expect(start.isNew).toBe(true);
    let now = 0;
    for (let i = 0; i < 10; i++) {
      now += 29 * minutes;
      expect(touchSession(kv, now, 30 * minutes)).toEqual({ id: start.id, isNew: false });
    }
  });

  it('starts a new session after 30 minutes without an event', () => {
    const kv = memoryKv();
    const first = touchSession(kv, 0, 30 * minutes);
    touchSession(kv, 10 * minutes, 30 * minutes);
    const second = touchSession(kv, 40 * minutes + 1, 30 * minutes);
    expect(second.isNew).toBe(true);
    expect(second.id).not.toBe(first.id);
  });

  it('keeps the session when the clock steps back', () => {
    const kv = memoryKv();
    const first = touchSession(kv, 100 * minutes, 30 * minutes);
    expect(touchSession(kv, 90 * minutes, 30 * minutes)).toEqual({ id: first.id, isNew: false });
  });
});

describe('anonymousId', () => {
  it('is made once and then kept', () => {
    const kv = memoryKv();
    const id = anonymousId(kv);
    expect(anonymousId(kv)).toBe(id);
    expect(anonymousId(memoryKv())).not.toBe(id);
  });
});
