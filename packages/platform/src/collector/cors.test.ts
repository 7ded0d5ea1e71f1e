import { describe, expect, it } from 'vitest';
import { DeeprefError } from '../errors.ts';
import { isOriginAllowed, preflightHeaders, requestCorsHeaders } from './cors.ts';

const web = { allowedOrigins: ['https://app.example', 'http://localhost:5173'] };

describe('isOriginAllowed', () => {
  it('matches scheme, host and port exactly', () => {
    expect(isOriginAllowed(web, 'https://app.example')).toBe(true);
    expect(isOriginAllowed(web, 'http://localhost:5173')).toBe(true);
    expect(isOriginAllowed(web, 'http://app.example')).toBe(false);
    expect(isOriginAllowed(web, 'https://app.example:8443')).toBe(false);
    expect(isOriginAllowed(web, 'http://localhost:5174')).toBe(false);
    expect(isOriginAllowed(web, 'https://evil.app.example')).toBe(false);
    expect(isOriginAllowed(web, 'https://app.example.evil')).toBe(false);
  });

  it('normalises default ports and case on both sides', () => {
    expect(isOriginAllowed({ allowedOrigins: ['https://App.Example:443/'] }, 'https://app.example')).toBe(
      true,
    );
    expect(isOriginAllowed(web, 'HTTPS://APP.EXAMPLE')).toBe(true);
  });

  it('allows any origin for `*`, but not the opaque null origin unless it is listed', () => {
    expect(isOriginAllowed({ allowedOrigins: ['*'] }, 'https://anything.example')).toBe(true);
    expect(isOriginAllowed({ allowedOrigins: ['*'] }, 'null')).toBe(false);
    expect(isOriginAllowed({ allowedOrigins: ['null'] }, 'null')).toBe(true);
  });

  it('refuses browsers for a server-side source, and lets requests without Origin through', () => {
    expect(isOriginAllowed({ allowedOrigins: [] }, 'https://app.example')).toBe(false);
    expect(isOriginAllowed({ allowedOrigins: [] }, undefined)).toBe(true);
  });
});

describe('CORS headers', () => {
  it('answers a preflight for any origin, echoing it', () => {
    expect(preflightHeaders('https://unknown.example')).toEqual({
      'Access-Control-Allow-Origin': 'https://unknown.example',
      'Access-Control-Allow-Methods': 'POST, OPTIONS',
      'Access-Control-Allow-Headers': 'Content-Type, Authorization, Content-Encoding',
      'Access-Control-Max-Age': '86400',
      Vary: 'Origin',
    });
  });

  it('echoes an allowed origin on the actual request and exposes Retry-After', () => {
    expect(requestCorsHeaders(web, 'https://app.example')).toEqual({
      'Access-Control-Allow-Origin': 'https://app.example',
      'Access-Control-Expose-Headers': 'Retry-After',
      Vary: 'Origin',
    });
    expect(requestCorsHeaders(web, undefined)).toEqual({ Vary: 'Origin' });
  });

  it('refuses a disallowed origin on the actual request with 403', () => {
    try {
      requestCorsHeaders(web, 'https://evil.example');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(DeeprefError);
      expect((error as DeeprefError).statusCode).toBe(403);
      expect((error as DeeprefError).message).toBe(
        'Origin https://evil.example is not allowed for this write key.',
      );
    }
  });
});
