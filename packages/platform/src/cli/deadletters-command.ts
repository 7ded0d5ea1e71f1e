/** `deepref deadletters`: what the collector refused and why, and replaying it after a fix. */
import type { DeadLetter } from '../bus/event-log.ts';
import { ControlClientError, controlRequest } from './control-client.ts';

type ErrorBody = { error?: { code: string; message: string } };

export async function listDeadLetters(options: {
  reason?: string;
  pending?: boolean;
  limit: number;
  json?: boolean;
  dataDir: string;
}): Promise<void> {
  const query = new URLSearchParams({ limit: String(options.limit) });
  if (options.reason) query.set('reason', options.reason);
  if (options.pending) query.set('pending', 'true');
  const response = await controlRequest<{ items: DeadLetter[]; counts: Record<string, number> } & ErrorBody>(
    options.dataDir,
    'GET',
    `/api/v1/deadletters?${query}`,
  );
  if (response.status !== 200)
    throw new ControlClientError(response.body.error?.message ?? `HTTP ${response.status}`);
  const { items, counts } = response.body;
  if (options.json) {
    console.log(JSON.stringify(items, null, 2));
    return;
  }
  const totals = Object.entries(counts);
  console.log(
    totals.length
      ? `Dead letters by reason: ${totals.map(([r, n]) => `${r} ${n}`).join(', ')}`
      : 'No dead letters.',
  );
  for (const d of items) {
    const state = d.replayedAt ? `replayed ${d.replayedAt} (${d.replayOutcome})` : 'pending';
    console.log(`#${d.id} ${d.receivedAt} ${d.reason} ${d.eventName ?? '-'} ${state}\n    ${d.message}`);
  }
}

export async function replayDeadLetters(options: {
  id?: string[];
  reason?: string;
  limit: number;
  dataDir: string;
}): Promise<void> {
  const body = options.id
    ? { ids: options.id.map((id) => Number(id)) }
    : { ...(options.reason ? { reason: options.reason } : {}), limit: options.limit };
  const response = await controlRequest<
    { replayed: number; results: { id: number; status: string; detail?: string }[] } & ErrorBody
  >(options.dataDir, 'POST', '/api/v1/deadletters/replay', body);
  if (response.status !== 200)
    throw new ControlClientError(response.body.error?.message ?? `HTTP ${response.status}`);
  for (const r of response.body.results)
    console.log(`#${r.id} ${r.status}${r.detail ? `: ${r.detail}` : ''}`);
  console.log(`Replayed ${response.body.replayed} of ${response.body.results.length}.`);
}
