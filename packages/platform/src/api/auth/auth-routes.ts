/**
 * The auth API under /api/v1/auth: sign-in and sign-out with a session cookie, who am I, password change, read
 * API keys, and the operator's password reset (control socket only, for `deepref admin reset-password`).
 */
import type {} from '@fastify/cookie';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { DeeprefError } from '../../errors.ts';
import { adminUsername, sessionMaxAgeMs } from './accounts.ts';
import { type Auth, type Reader, sessionCookie } from './auth.ts';
import { generatePassword, maxPasswordLength, minPasswordLength } from './passwords.ts';

const ErrorAnswer = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    retryAfter: Type.Optional(Type.Number()),
  }),
});
const UserAnswer = Type.Object({ id: Type.String(), username: Type.String() });
const LoginBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 256 }),
  password: Type.String({ minLength: 1, maxLength: maxPasswordLength }),
});
const PasswordBody = Type.Object({
  oldPassword: Type.String({ minLength: 1, maxLength: maxPasswordLength }),
  newPassword: Type.String(),
});
const ApiKeyBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) });
const ApiKeyListing = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String(),
  createdAt: Type.String(),
  lastUsedAt: Type.Union([Type.String(), Type.Null()]),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});
const ApiKeyMade = Type.Object({ ...ApiKeyListing.properties, key: Type.String() });
const MeAnswer = Type.Object({
  user: Type.Union([UserAnswer, Type.Null()]),
  via: Type.Union([Type.Literal('session'), Type.Literal('api-key'), Type.Literal('operator')]),
  apiKey: Type.Optional(Type.Object({ id: Type.String(), name: Type.String() })),
});
const ResetBody = Type.Object({ username: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })) });

const tags = ['auth'];
const noContent = { 204: Type.Null({ description: 'Done' }) };
const unauthorized = { 401: ErrorAnswer, 403: ErrorAnswer };

/** Secure when the browser would keep it: over HTTPS, or on a loopback host (localhost counts as secure). */
function secureCookie(request: FastifyRequest): boolean {
  if (request.protocol === 'https') return true;
  const host = request.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
  maxAgeMs: number,
): void {
  reply.setCookie(sessionCookie, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'strict',
    secure: secureCookie(request),
    maxAge: Math.floor(maxAgeMs / 1000),
  });
}

export async function authRoutes(parent: FastifyInstance, auth: Auth): Promise<void> {
  const app = parent.withTypeProvider<TypeBoxTypeProvider>();
  const reader = (request: FastifyRequest): Reader => auth.readerOf(request) as Reader;
  /** Managing keys needs a person or the operator: a program holding a read key may not make itself more. */
  const requireManager = async (request: FastifyRequest, reply: FastifyReply) => {
    await auth.requireReader(request, reply);
    if (reader(request).via === 'api-key') {
      throw new DeeprefError('DEEPREF_FORBIDDEN', {
        detail: 'An API key cannot manage API keys. Sign in, or use `deepref apikeys` on the server.',
      });
    }
  };

  app.post(
    '/api/v1/auth/login',
    {
      schema: {
        tags,
        summary: 'Sign in; sets the session cookie',
        body: LoginBody,
        response: { 200: Type.Object({ user: UserAnswer }), 401: ErrorAnswer, 429: ErrorAnswer },
      },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      const address = request.ip ?? 'control';
      auth.limiter.check(username, address);
      const user = await auth.accounts.checkPassword(username, password);
      if (!user) {
        auth.limiter.recordFailure(username, address);
        throw new DeeprefError('DEEPREF_LOGIN_FAILED');
      }
      auth.limiter.recordSuccess(username);
      const { token } = await auth.accounts.createSession(user.id);
      setSessionCookie(request, reply, token, sessionMaxAgeMs);
      return { user };
    },
  );

  app.post(
    '/api/v1/auth/logout',
    { schema: { tags, summary: 'Sign out: ends the session and clears the cookie', response: noContent } },
    async (request, reply) => {
      const token = request.cookies[sessionCookie];
      if (token) await auth.accounts.endSession(token);
      setSessionCookie(request, reply, '', 0);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/auth/me',
    {
      onRequest: auth.requireReader,
      schema: { tags, summary: 'Who is asking', response: { 200: MeAnswer, ...unauthorized } },
    },
    async (request) => {
      const who = reader(request);
      if (who.via === 'session') return { user: who.user, via: who.via };
      if (who.via === 'api-key') return { user: null, via: who.via, apiKey: who.apiKey };
      return { user: null, via: 'operator' as const };
    },
  );

  app.post(
    '/api/v1/auth/password',
    {
      onRequest: auth.requireReader,
      schema: {
        tags,
        summary: 'Change the signed-in user’s password; ends their other sessions',
        body: PasswordBody,
        response: { ...noContent, 400: ErrorAnswer, ...unauthorized },
      },
    },
    async (request, reply) => {
      const who = reader(request);
      if (who.via !== 'session') {
        throw new DeeprefError('DEEPREF_FORBIDDEN', {
          detail:
            'Only a signed-in user changes a password; the operator uses `deepref admin reset-password`.',
        });
      }
      const { oldPassword, newPassword } = request.body;
      if ([...newPassword].length < minPasswordLength || newPassword.length > maxPasswordLength) {
        throw new DeeprefError('DEEPREF_WEAK_PASSWORD', { min: minPasswordLength, max: maxPasswordLength });
      }
      const address = request.ip ?? 'control';
      auth.limiter.check(who.user.username, address);
      if (!(await auth.accounts.checkPassword(who.user.username, oldPassword))) {
        auth.limiter.recordFailure(who.user.username, address);
        throw new DeeprefError('DEEPREF_LOGIN_FAILED');
      }
      await auth.accounts.setPassword(who.user.id, newPassword);
      await auth.accounts.endSessionsOf(who.user.id, who.token);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/auth/api-keys',
    {
      onRequest: requireManager,
      schema: {
        tags,
        summary: 'Make a read API key (shown in this answer only)',
        body: ApiKeyBody,
        response: { 201: ApiKeyMade, ...unauthorized },
      },
    },
    async (request, reply) => {
      const who = reader(request);
      const createdBy = who.via === 'session' ? who.user.id : 'operator';
      return reply.code(201).send(await auth.accounts.createApiKey(request.body.name.trim(), createdBy));
    },
  );

  app.get(
    '/api/v1/auth/api-keys',
    {
      onRequest: requireManager,
      schema: {
        tags,
        summary: 'List the read API keys',
        response: { 200: Type.Object({ apiKeys: Type.Array(ApiKeyListing) }), ...unauthorized },
      },
    },
    async () => ({ apiKeys: await auth.accounts.listApiKeys() }),
  );

  app.delete(
    '/api/v1/auth/api-keys/:id',
    {
      onRequest: requireManager,
      schema: {
        tags,
        summary: 'Revoke a read API key',
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        response: { ...noContent, 404: ErrorAnswer, ...unauthorized },
      },
    },
    async (request, reply) => {
      if (!(await auth.accounts.revokeApiKey(request.params.id))) {
        throw new DeeprefError('DEEPREF_NOT_FOUND', {
          what: `An active API key with id ${request.params.id}`,
        });
      }
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/auth/admin/reset-password',
    {
      schema: {
        tags,
        summary: 'Operator only (control socket): give a user a new generated password',
        body: ResetBody,
        response: {
          200: Type.Object({ username: Type.String(), password: Type.String() }),
          403: ErrorAnswer,
          404: ErrorAnswer,
        },
      },
    },
    async (request) => {
      if (!auth.isAdmin(request)) {
        throw new DeeprefError('DEEPREF_FORBIDDEN', {
          detail:
            'A password reset is served on the control socket only: run `deepref admin reset-password`.',
        });
      }
      const username = request.body.username ?? adminUsername;
      const user = await auth.accounts.findUser(username);
      if (!user) throw new DeeprefError('DEEPREF_NOT_FOUND', { what: `The user ${username}` });
      const password = generatePassword();
      await auth.accounts.setPassword(user.id, password);
      await auth.accounts.endSessionsOf(user.id);
      return { username, password };
    },
  );
}
