import { describe, expect, it } from 'vitest';
import { interpret } from './transport.ts';

describe('what an answer means', () => {
  it('takes a 2xx as stored, with each event result', () => {
    const outcome = interpret(
      200,
      null,
      JSON.stringify({
        success: true,
        results: [
          { eventId: 'a', status: 'accepted' },
          { eventId: 'b', status: 'duplicate' },
          { eventId: 'c', status: 'rejected', reason: 'schema_violation', message: '/x' },
        ],
      }),
    );
    expect(outcome.kind).toBe('stored');
    if (outcome.kind !== 'stored') return;
    expect([...outcome.results.values()].map((r) => r.status)).toEqual(['accepted', 'duplicate', 'rejected']);
    expect(interpret(204, null, '')).toEqual({ kind: 'stored', results: new Map() });
  });

  it('retries what may pass later and refuses what never will', () => {
    expect(interpret(503, '2', '{"error":{"code":"DEEPREF_OVERLOADED"}}')).toEqual({
      kind: 'retry',
      detail: 'HTTP 503 DEEPREF_OVERLOADED',
      retryAfterMs: 2000,
    });
    expect(interpret(429, null, '')).toEqual({ kind: 'retry', detail: 'HTTP 429' });
    expect(interpret(500, null, '')).toEqual({ kind: 'retry', detail: 'HTTP 500' });
    expect(interpret(404, null, '')).toEqual({ kind: 'retry', detail: 'HTTP 404' });
    expect(interpret(401, null, '')).toEqual({ kind: 'retry', detail: 'HTTP 401', unauthorized: true });
    expect(interpret(413, null, '')).toEqual({ kind: 'too-large' });
    expect(interpret(400, null, '{"error":{"code":"DEEPREF_INVALID_BODY"}}')).toEqual({
      kind: 'refused',
      status: 400,
      detail: 'HTTP 400 DEEPREF_INVALID_BODY',
    });
    expect(interpret(415, null, '')).toMatchObject({ kind: 'refused', status: 415 });
  });
});
