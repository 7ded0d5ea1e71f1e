/**
 * `deepref admin reset-password` and `deepref apikeys create|list|revoke`: accounts and read API keys of the
 * running platform, through its control socket (whoever may open it is the operator).
 */
import type { ApiKeyListing } from '../api/auth/accounts.ts';
import { ControlClientError, controlRequest } from './control-client.ts';

interface ErrorBody {
  error?: { message?: string };
}

function check<T>(response: { status: number; body: T }, ok: number): T {
  if (response.status !== ok) {
    const message = (response.body as ErrorBody | undefined)?.error?.message;
    throw new ControlClientError(message ?? `The platform answered ${response.status}.`);
  }
  return response.body;
}

export async function resetPassword(options: { user?: string; dataDir: string }): Promise<void> {
  const { username, password } = check(
    await controlRequest<{ username: string; password: string }>(
      options.dataDir,
      'POST',
      '/api/v1/auth/admin/reset-password',
      options.user === undefined ? {} : { username: options.user },
    ),
    200,
  );
  console.log(password);
  console.error(
    `New password of "${username}" above: shown only now. Every session of the account was signed out.`,
  );
}

export async function createApiKey(options: { name: string; dataDir: string }): Promise<void> {
  const made = check(
    await controlRequest<ApiKeyListing & { key: string }>(options.dataDir, 'POST', '/api/v1/auth/api-keys', {
      name: options.name,
    }),
    201,
  );
  console.log(made.key);
  console.error(
    `Made the read API key "${made.name}" (${made.id}). Keep the key above: it is shown only now. ` +
      'Send it as `Authorization: Bearer <key>`.',
  );
}

export async function listApiKeys(options: { dataDir: string }): Promise<void> {
  const { apiKeys } = check(
    await controlRequest<{ apiKeys: ApiKeyListing[] }>(options.dataDir, 'GET', '/api/v1/auth/api-keys'),
    200,
  );
  if (apiKeys.length === 0) {
    console.log('No API keys yet. Make one with: deepref apikeys create --name NAME');
    return;
  }
  console.table(
    apiKeys.map((k) => ({
      name: k.name,
      id: k.id,
      key: `${k.prefix}…`,
      created: k.createdAt,
      lastUsed: k.lastUsedAt ?? 'never',
      status: k.revokedAt ? `revoked ${k.revokedAt}` : 'active',
    })),
  );
}

export async function revokeApiKey(id: string, options: { dataDir: string }): Promise<void> {
  check(
    await controlRequest(options.dataDir, 'DELETE', `/api/v1/auth/api-keys/${encodeURIComponent(id)}`),
    204,
  );
  console.log(`Revoked the API key ${id}; the platform refuses it from now on.`);
}
