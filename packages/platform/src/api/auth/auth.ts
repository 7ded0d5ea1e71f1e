/**
 * Who is asking: the `requireReader` hook that every route reading data runs first. A reader is the operator
 * (a connection on the control socket), a signed-in person (session cookie) or a program (read API key). A
 * write key is recognised and refused with 403: it may send events, never read them.
 */
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DeeprefError } from '../../errors.ts';
import type { MetaStore } from '../../storage/meta-store.ts';
import { Accounts, adminUsername, apiKeyPrefix, type User } from './accounts.ts';
import { LoginLimiter } from './login-limiter.ts';

export const sessionCookie = 'deepref_session';

export type Reader =
  | { via: 'operator' }
  | { via: 'session'; user: User; token: string }
  | { via: 'api-key'; apiKey: { id: string; name: string } }
  /** A browser on the platform's own machine, allowed on `/example/events` only. */
  | { via: 'local' };

export type ReaderHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

export interface Auth {
  accounts: Accounts;
  limiter: LoginLimiter;
  now: () => Date;
  isAdmin: (request: FastifyRequest) => boolean;
  /** Refuses the request (401/403) unless it has a reader; then `readerOf(request)` is that reader. */
  requireReader: ReaderHook;
  /** `requireReader`, but a request from a loopback address that came through no proxy passes too. */
  requireLocalOrReader: ReaderHook;
  readerOf(request: FastifyRequest): Reader | undefined;
}

export interface AuthOptions {
  meta: MetaStore;
  isAdmin: (request: FastifyRequest) => boolean;
  /** The time for session expiry and sign-in limits; tests move it instead of waiting. */
  now?: () => Date;
  /** Shows the first admin password to the person starting the platform (never the log). */
  announceAdminPassword?: (message: string) => void;
}

/** Prints to standard error, which pino (writing to standard output) does not share. */
function printToConsole(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** Opens the accounts, making the admin account (and announcing its password) on the first start. */
export async function createAuth(options: AuthOptions): Promise<Auth> {
  const now = options.now ?? (() => new Date());
  const accounts = new Accounts(options.meta, now);
  const password = await accounts.ensureAdmin();
  if (password !== undefined) {
    (options.announceAdminPassword ?? printToConsole)(
      [
        '',
        `Made the account "${adminUsername}" with the password: ${password}`,
        'It is shown only now and stored only as a hash. Change it with POST /api/v1/auth/password,',
        'or print a new one with `deepref admin reset-password`.',
        '',
      ].join('\n'),
    );
  }

  const readers = new WeakMap<FastifyRequest, Reader>();

  /** The reader of a request's credentials; undefined when it sends none; throws when they are bad. */
  const identify = async (request: FastifyRequest): Promise<Reader | undefined> => {
    if (options.isAdmin(request)) return { via: 'operator' };
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const [scheme = '', credential = ''] = authorization.trim().split(/\s+/, 2);
      const key =
        scheme.toLowerCase() === 'bearer'
          ? credential
          : scheme.toLowerCase() === 'basic'
            ? Buffer.from(credential, 'base64').toString('utf8').split(':', 1)[0]!
            : '';
      if (key.startsWith(apiKeyPrefix)) {
        const apiKey = await accounts.authenticateApiKey(key);
        if (!apiKey) throw new DeeprefError('DEEPREF_UNKNOWN_API_KEY');
        return { via: 'api-key', apiKey };
      }
      if (key.startsWith('drk_')) throw new DeeprefError('DEEPREF_WRITE_KEY_CANNOT_READ');
      throw new DeeprefError('DEEPREF_UNKNOWN_API_KEY');
    }
    const token = request.cookies[sessionCookie];
    if (token) {
      const session = await accounts.lookupSession(token);
      if (session.status === 'ended') {
        throw new DeeprefError('DEEPREF_SESSION_EXPIRED', { reason: session.reason });
      }
      return { via: 'session', user: session.user, token };
    }
    return undefined;
  };

  const requireReader: ReaderHook = async (request) => {
    const reader = await identify(request);
    if (!reader) throw new DeeprefError('DEEPREF_NOT_SIGNED_IN');
    readers.set(request, reader);
  };

  const requireLocalOrReader: ReaderHook = async (request) => {
    const reader = (await identify(request)) ?? (isLocalBrowser(request) ? { via: 'local' } : undefined);
    if (!reader) throw new DeeprefError('DEEPREF_NOT_SIGNED_IN');
    readers.set(request, reader);
  };

  return {
    accounts,
    limiter: new LoginLimiter(now),
    now,
    isAdmin: options.isAdmin,
    requireReader,
    requireLocalOrReader,
    readerOf: (request) => readers.get(request),
  };
}

/**
 * A request straight from this machine: a loopback peer address and no forwarding header. A reverse proxy on the
 * same machine also connects from loopback, but it adds `Forwarded`, `X-Forwarded-For` or `X-Real-IP`, so its visitors are not
 * taken for local ones.
 */
export function isLocalBrowser(request: FastifyRequest): boolean {
  const address = request.socket.remoteAddress ?? '';
  const loopback = address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
  const { forwarded, 'x-forwarded-for': forwardedFor, 'x-real-ip': realIp } = request.headers;
  return loopback && forwarded === undefined && forwardedFor === undefined && realIp === undefined;
}
