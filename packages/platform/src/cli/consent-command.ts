/**
 * `deepref consent show|grant|withdraw --subject ID`: a subject's consent on the running platform, through the
 * control socket, so that the gate's cache sees a change at once. Changes are recorded with method `admin`.
 */
import type { Purpose } from '../privacy/consent/consent.ts';
import type { ConsentView } from '../privacy/consent/consent-routes.ts';
import { ControlClientError, controlRequest } from './control-client.ts';

type ErrorBody = { error?: { code: string; message: string } };

export interface ConsentCommandOptions {
  subject: string;
  dataDir: string;
  json?: boolean;
}

export async function showConsent(options: ConsentCommandOptions): Promise<void> {
  const response = await controlRequest<ConsentView & ErrorBody>(
    options.dataDir,
    'GET',
    `/api/v1/consent/${encodeURIComponent(options.subject)}`,
  );
  print(response.status, response.body, options.json);
}

export async function changeConsent(
  granted: boolean,
  options: ConsentCommandOptions & { purpose: Purpose[]; policyVersion?: string },
): Promise<void> {
  const response = await controlRequest<ConsentView & ErrorBody>(
    options.dataDir,
    'POST',
    `/api/v1/consent/${encodeURIComponent(options.subject)}`,
    {
      purposes: Object.fromEntries(options.purpose.map((purpose) => [purpose, granted])),
      method: 'admin',
      ...(options.policyVersion ? { policyVersion: options.policyVersion } : {}),
    },
  );
  print(response.status, response.body, options.json);
}

function print(status: number, view: ConsentView & ErrorBody, json: boolean | undefined): void {
  if (status !== 200) throw new ControlClientError(view.error?.message ?? `HTTP ${status}`);
  if (json) {
    console.log(JSON.stringify(view, null, 2));
    return;
  }
  console.log(`Consent of ${view.subjectId} (mode ${view.mode}; linked ids: ${view.linkedIds.join(', ')})`);
  for (const [purpose, state] of Object.entries(view.state)) {
    const basis =
      state.basis === 'record'
        ? `${state.method}, policy ${state.policyVersion}, ${state.recordedAt}`
        : 'default of the mode';
    console.log(`  ${purpose.padEnd(17)} ${state.granted ? 'granted' : 'refused'} (${basis})`);
  }
  console.log(`History: ${view.history.length} record${view.history.length === 1 ? '' : 's'}`);
  for (const r of view.history) {
    console.log(
      `  #${r.id} ${r.recordedAt} ${r.subjectId} ${r.granted ? 'granted' : 'withdrew'} ${r.purpose} ` +
        `(${r.method}, policy ${r.policyVersion})`,
    );
  }
}
