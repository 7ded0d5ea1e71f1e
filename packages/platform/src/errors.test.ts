import { describe, expect, it } from 'vitest';
import { DeeprefError, errorCatalog } from './errors.ts';

describe('error catalog', () => {
  it('fills the message template and carries the status of its code', () => {
    const error = new DeeprefError('DEEPREF_PAYLOAD_TOO_LARGE', { limit: 512000 });
    expect(error.statusCode).toBe(413);
    expect(error.message).toBe(
      'The request body is larger than the limit of 512000 bytes. Send fewer events per request.',
    );
    expect(error.toJSON()).toEqual({ error: { code: 'DEEPREF_PAYLOAD_TOO_LARGE', message: error.message } });
  });

  it('puts Retry-After seconds into the message and the body', () => {
    const error = new DeeprefError('DEEPREF_OVERLOADED', {}, { retryAfter: 2 });
    expect(error.message).toContain('Retry after 2 seconds');
    expect(error.toJSON().error.retryAfter).toBe(2);
  });

  it('gives every code a 4xx or 5xx status and a message ending in a full stop', () => {
    for (const [code, entry] of Object.entries(errorCatalog)) {
      expect(entry.status, code).toBeGreaterThanOrEqual(400);
      expect(entry.message.trim().endsWith('.') || entry.message === '{detail}', code).toBe(true);
    }
  });
});
