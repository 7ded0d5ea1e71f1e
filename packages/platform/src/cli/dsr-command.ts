/**
 * `deepref dsr`: data subject requests through the running platform's control socket. `export` and `erase` create
 * the request, record the operator's identity check, approve and run it, printing each step; `erase` asks the
 * operator to type the user id back unless `--yes`. `status` shows one request with its audit trail, or all.
 */
import { createInterface } from 'node:readline/promises';
import type { ErasureProof } from '../privacy/dsr/dsr-service.ts';
import { ControlClientError, controlRequest } from './control-client.ts';

type ErrorBody = { error?: { code: string; message: string } };

interface RequestBody {
  id: string;
  kind: string;
  subject: string;
  state: string;
  format: string | null;
  error: string | null;
  result: ({ sha256?: string; sizeBytes?: number; expiresAt?: string } & Partial<ErasureProof>) | null;
  downloadUrl?: string;
  updatedAt: string;
  audit?: { fromState: string | null; toState: string; actor: string; detail: string | null; at: string }[];
}

async function call(dataDir: string, method: string, path: string, body?: unknown): Promise<RequestBody> {
  const response = await controlRequest<RequestBody & ErrorBody>(dataDir, method, path, body);
  if (response.status >= 300) {
    throw new ControlClientError(response.body?.error?.message ?? `HTTP ${response.status}`);
  }
  return response.body;
}

/** Create, verify, approve and run: the request's whole life, as the operator drives it. */
async function runRequest(
  options: { dataDir: string; verifiedBy: string },
  create: { kind: 'export' | 'erasure'; userId: string; format?: string },
): Promise<RequestBody> {
  const created = await call(options.dataDir, 'POST', '/api/v1/dsr', create);
  console.error(`Request ${created.id}: received`);
  await call(options.dataDir, 'POST', `/api/v1/dsr/${created.id}/verify`, { method: options.verifiedBy });
  console.error(`Request ${created.id}: identity verified (${options.verifiedBy})`);
  await call(options.dataDir, 'POST', `/api/v1/dsr/${created.id}/approve`, {});
  console.error(`Request ${created.id}: approved, running`);
  const done = await call(options.dataDir, 'POST', `/api/v1/dsr/${created.id}/run`, {});
  console.error(`Request ${created.id}: ${done.state}`);
  return done;
}

function printExport(done: RequestBody): void {
  const result = done.result?.export ?? done.result;
  if (!done.downloadUrl || !result) return;
  console.log(`Download (until ${result.expiresAt}): ${done.downloadUrl}`);
  console.log(`SHA-256: ${result.sha256}  (${result.sizeBytes} bytes)`);
}

export async function exportSubject(options: {
  userId: string;
  format: string;
  verifiedBy: string;
  dataDir: string;
}): Promise<void> {
  const done = await runRequest(options, { kind: 'export', userId: options.userId, format: options.format });
  if (done.state !== 'completed') throw new ControlClientError(done.error ?? `The export ${done.state}.`);
  printExport(done);
}

export async function eraseSubject(options: {
  userId: string;
  yes?: boolean;
  exportFirst?: string;
  verifiedBy: string;
  dataDir: string;
}): Promise<void> {
  if (!options.yes) {
    const prompt = createInterface({ input: process.stdin, output: process.stderr });
    const answer = await prompt.question(
      `This erases everything held about user ${options.userId}, in every store, and cannot be undone.\n` +
        'Type the user id again to confirm: ',
    );
    prompt.close();
    if (answer.trim() !== options.userId) {
      console.error('deepref: not confirmed; nothing was changed.');
      process.exitCode = 1;
      return;
    }
  }
  const done = await runRequest(options, {
    kind: 'erasure',
    userId: options.userId,
    ...(options.exportFirst ? { format: options.exportFirst } : {}),
  });
  printExport(done);
  const proof = done.result;
  if (proof?.stores) {
    console.log(`Proof report (subject now ${proof.subject}):`);
    for (const s of proof.stores) {
      console.log(
        `  ${`${s.store}.${s.section}`.padEnd(40)} found ${s.found}, ${s.action} ${s.removed}, remaining ${s.verification.remaining}`,
      );
    }
  }
  if (done.state !== 'completed') throw new ControlClientError(done.error ?? `The erasure ${done.state}.`);
}

export async function showStatus(
  id: string | undefined,
  options: { json?: boolean; dataDir: string },
): Promise<void> {
  if (id) {
    const request = await call(options.dataDir, 'GET', `/api/v1/dsr/${encodeURIComponent(id)}`);
    if (options.json) {
      console.log(JSON.stringify(request, null, 2));
      return;
    }
    console.log(
      `${request.id} ${request.kind} ${request.subject} ${request.state}${request.error ? `: ${request.error}` : ''}`,
    );
    for (const a of request.audit ?? []) {
      console.log(
        `  ${a.at} ${a.fromState ?? '-'} → ${a.toState} by ${a.actor}${a.detail ? ` (${a.detail})` : ''}`,
      );
    }
    printExport(request);
    return;
  }
  const { items } = (await call(options.dataDir, 'GET', '/api/v1/dsr')) as unknown as {
    items: RequestBody[];
  };
  if (options.json) {
    console.log(JSON.stringify(items, null, 2));
    return;
  }
  if (items.length === 0) console.log('No privacy requests yet.');
  for (const r of items)
    console.log(`${r.id} ${r.kind.padEnd(7)} ${r.state.padEnd(17)} ${r.subject} ${r.updatedAt}`);
}
