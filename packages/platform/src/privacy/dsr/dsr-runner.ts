/**
 * Privacy requests in a split deployment (`--role api`, `--role worker`). The api process queues an approved request
 * and waits for its outcome (`runOnWorker`); the runner (`DsrRunner`) lives in the one worker that holds the
 * singleton lease, beside the stream layer and the lake writer, so every store a request reaches is in that process
 * and the request runs as in an `all` process: same steps, same proof, verified once every store is done.
 *
 * The MetaStore is the hand-over: moving a request from `queued` to `in_progress` is a conditional update, so one
 * runner takes it. A request found `in_progress` when a runner starts was left by a worker that stopped (only the
 * lease holder runs requests, and a new runner means a new holder): it is failed (`DEEPREF_DSR_RUNNER_LOST`), so it
 * can run again and is never recorded as completed with stores left.
 */
import { DeeprefError } from '../../errors.ts';
import type { DsrRequest, DsrService } from './dsr-service.ts';
import type { DsrState } from './dsr-states.ts';

/** States a request does not leave by itself. */
const settled: readonly DsrState[] = ['completed', 'failed', 'canceled'];

export interface DsrRunnerOptions {
  dsr: DsrService;
  /** Who runs the requests, as the audit rows name it (the worker's lease owner). */
  name: string;
  /** How often to look for queued requests. Default 500 ms. */
  pollMs?: number;
  onError?: (error: unknown) => void;
}

export class DsrRunner {
  readonly #options: DsrRunnerOptions;
  readonly #timer: NodeJS.Timeout;
  #turn: Promise<void> = Promise.resolve();
  #stopped = false;

  private constructor(options: DsrRunnerOptions) {
    this.#options = options;
    this.#timer = setInterval(() => this.#tick(), options.pollMs ?? 500);
    this.#timer.unref();
    this.#tick();
  }

  /** Fails the requests a stopped worker left in progress, then runs the queued ones as they come. */
  static async start(options: DsrRunnerOptions): Promise<DsrRunner> {
    const { dsr, name } = options;
    for (const id of await dsr.idsIn('in_progress')) {
      const started = (await dsr.audit(id)).findLast((entry) => entry.toState === 'in_progress');
      const lost = new DeeprefError('DEEPREF_DSR_RUNNER_LOST', { id, runner: started?.actor ?? 'unknown' });
      await dsr
        .transition(id, 'fail', name, { error: lost.message, detail: lost.code })
        // It moved on meanwhile (its worker was alive after all and finished it).
        .catch(() => undefined);
    }
    return new DsrRunner(options);
  }

  #tick(): void {
    this.#turn = this.#turn.then(() => this.#runQueued()).catch(this.#options.onError ?? (() => undefined));
  }

  async #runQueued(): Promise<void> {
    const { dsr, name } = this.#options;
    for (const id of await dsr.idsIn('queued')) {
      if (this.#stopped) return;
      try {
        await dsr.run(id, name);
      } catch (error) {
        // Canceled, or taken by another runner, between the listing and the claim: not ours.
        if ((error as { code?: string }).code !== 'DEEPREF_DSR_INVALID_TRANSITION') throw error;
      }
    }
  }

  /** Stops looking for requests; resolves once the request running now (if any) has its outcome. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#turn;
  }
}

/**
 * The api process's `run`: queues the request for the workers' runner and waits for its outcome. After `waitMs`
 * without one (no worker holds the lease, or the run is long), or once the process is stopping, it answers with the
 * request as it stands; the run goes on, and `GET /api/v1/dsr/:id` shows it. Running a request that is already
 * queued or in progress waits for it again.
 */
export async function runOnWorker(
  dsr: DsrService,
  id: string,
  actor: string,
  options: { waitMs?: number; pollMs?: number; isStopping?: () => boolean } = {},
): Promise<DsrRequest> {
  const request = await dsr.get(id);
  if (request.state !== 'queued' && request.state !== 'in_progress') await dsr.queue(id, actor);
  const deadline = Date.now() + (options.waitMs ?? 600_000);
  for (;;) {
    const now = await dsr.get(id);
    if (settled.includes(now.state) || Date.now() >= deadline || options.isStopping?.()) return now;
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
  }
}
