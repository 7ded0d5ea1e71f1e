/**
 * The hand-over of privacy requests from the api process to the worker that runs them, over one real MetaStore:
 * a queued request runs once, on one runner (an export too, its package then read through the api's store); a
 * request a stopped worker left in progress becomes failed, so it can run again; a run that lost its request to
 * another never records its outcome over that one's.
 */
import { describe, expect, it } from 'vitest';
import { type ExportPackage, ExportStore, sha256Hex } from '../../exports/export-store.ts';
import { DsrRunner, runOnWorker } from './dsr-runner.ts';
import { DsrService } from './dsr-service.ts';
import { useDsrTestStores } from './dsr-test-stores.ts';
import type { SubjectStore } from './subject-stores.ts';

const dsrStores = useDsrTestStores('deepref-dsr-runner-');

/** A store holding one record per subject until erased; `erase` waits for `gate` when one is set. */
function probeStore(gate?: Promise<void>) {
  const erased: string[] = [];
  const store: SubjectStore = {
    name: 'probe',
    verificationQuery: 'probe',
    async find(subject) {
      return { probe_rows: erased.includes(subject.userId) ? [] : [{ id: subject.userId }] };
    },
    async erase(subject) {
      await gate;
      erased.push(subject.userId);
      return { probe_rows: 1 };
    },
  };
  return { store, erased };
}

function service(stores: SubjectStore[]): DsrService {
  return new DsrService({
    meta: dsrStores.meta,
    stores,
    exports: new ExportStore(dsrStores.meta, dsrStores.keys, Buffer.alloc(32, 1)),
    pseudonymKey: Buffer.alloc(32, 2),
  });
}

async function approvedErasure(dsr: DsrService, userId: string): Promise<string> {
  const { id } = await dsr.create({ kind: 'erasure', userId, actor: 'operator' });
  await dsr.verify(id, 'document check', 'operator');
  await dsr.approve(id, 'operator');
  return id;
}

describe('privacy requests handed to a worker', () => {
  it('runs a queued erasure on the runner and answers the api with its proof', async () => {
    const api = service([]);
    const probe = probeStore();
    const runner = await DsrRunner.start({ dsr: service([probe.store]), name: 'worker w1', pollMs: 20 });
    try {
      const id = await approvedErasure(api, 'runner-u1');
      const done = await runOnWorker(api, id, 'operator', { pollMs: 20 });
      expect(done.state).toBe('completed');
      expect(done.result).toMatchObject({
        verified: true,
        stores: [{ store: 'probe', found: 1, removed: 1, verification: { remaining: 0 } }],
      });
      expect(probe.erased).toEqual(['runner-u1']);
      const audit = await api.audit(id);
      expect(audit.slice(-3).map((a) => [a.toState, a.actor])).toEqual([
        ['queued', 'operator'],
        ['in_progress', 'worker w1'],
        ['completed', 'worker w1'],
      ]);
    } finally {
      await runner.stop();
    }
  });

  it('answers with the request still queued when no worker takes it, and waits for it on the next run', async () => {
    const api = service([]);
    const id = await approvedErasure(api, 'runner-u5');
    expect((await runOnWorker(api, id, 'operator', { waitMs: 0 })).state).toBe('queued');
    const probe = probeStore();
    const runner = await DsrRunner.start({ dsr: service([probe.store]), name: 'worker w4', pollMs: 20 });
    try {
      expect((await runOnWorker(api, id, 'operator', { pollMs: 20 })).state).toBe('completed');
      expect((await api.audit(id)).filter((a) => a.toState === 'queued')).toHaveLength(1);
    } finally {
      await runner.stop();
    }
  });

  it('runs a queued export on the runner, whose package the api process reads', async () => {
    const api = service([]);
    const probe = probeStore();
    const runner = await DsrRunner.start({ dsr: service([probe.store]), name: 'worker w3', pollMs: 20 });
    try {
      const { id } = await api.create({ kind: 'export', userId: 'runner-u2', actor: 'operator' });
      await api.verify(id, 'document check', 'operator');
      await api.approve(id, 'operator');
      const done = await runOnWorker(api, id, 'operator', { pollMs: 20 });
      expect(done.state).toBe('completed');
      const made = done.result as ExportPackage;
      const read = await new ExportStore(dsrStores.meta, dsrStores.keys, Buffer.alloc(32, 1)).read(made.id);
      expect(read && sha256Hex(read.bytes)).toBe(made.sha256);
    } finally {
      await runner.stop();
    }
  });

  it('fails a request a stopped worker left in progress, and the next run completes it', async () => {
    const api = service([]);
    const id = await approvedErasure(api, 'runner-u3');
    await api.queue(id, 'operator');
    // A worker took it and died before an outcome: the request stays in progress, claimed by it.
    await api.transition(id, 'start', 'worker dead');
    const probe = probeStore();
    const runner = await DsrRunner.start({ dsr: service([probe.store]), name: 'worker w2', pollMs: 20 });
    try {
      const lost = await api.get(id);
      expect(lost.state).toBe('failed');
      expect(lost.error).toContain('(worker dead) stopped before it finished');
      expect((await api.audit(id)).at(-1)).toMatchObject({
        toState: 'failed',
        detail: 'DEEPREF_DSR_RUNNER_LOST',
      });
      const done = await runOnWorker(api, id, 'operator', { pollMs: 20 });
      expect(done.state).toBe('completed');
      expect(probe.erased).toEqual(['runner-u3']);
    } finally {
      await runner.stop();
    }
  });

  it('records no outcome for a run whose request another runner took over meanwhile', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const stalled = service([probeStore(gate).store]);
    const api = service([]);
    const id = await approvedErasure(api, 'runner-u4');
    const stalledRun = stalled.run(id, 'worker stalled');
    // The stalled run is inside its erasure step; its lease moved, the new holder failed it and ran it again.
    while ((await api.get(id)).state !== 'in_progress') await new Promise((r) => setTimeout(r, 5));
    await api.transition(id, 'fail', 'worker w3');
    await api.transition(id, 'start', 'worker w3');
    open();
    await expect(stalledRun).rejects.toMatchObject({ code: 'DEEPREF_DSR_CLAIM_LOST' });
    const now = await api.get(id);
    expect(now.state).toBe('in_progress');
    expect((await api.audit(id)).at(-1)).toMatchObject({ toState: 'in_progress', actor: 'worker w3' });
  });
});
