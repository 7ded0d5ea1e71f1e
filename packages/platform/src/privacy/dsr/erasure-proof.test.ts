/**
 * The erasure's proof report against the real service and a real MetaStore: every store is verified once all of
 * them are erased, so a row that a later step's work writes back into an earlier store (a stream backfill
 * recomputing a day from the warehouse during the erasure) shows as remaining and fails the request.
 */
import { describe, expect, it } from 'vitest';
import { ExportStore } from '../../exports/export-store.ts';
import { DsrService, type ErasureProof } from './dsr-service.ts';
import { useDsrTestStores } from './dsr-test-stores.ts';
import type { SubjectStore } from './subject-stores.ts';

const dsrStores = useDsrTestStores('deepref-dsr-proof-');

/** A store holding rows by subject id, which `erase` deletes. */
function rowStore(name: string, rows: Set<string>): SubjectStore {
  return {
    name,
    verificationQuery: `${name} rows by id`,
    async find(subject) {
      return { rows: subject.ids.filter((id) => rows.has(id)).map((id) => ({ id })) };
    },
    async erase(subject) {
      const removed = subject.ids.filter((id) => rows.delete(id)).length;
      return { rows: removed };
    },
  };
}

async function erase(stores: SubjectStore[], userId: string) {
  const service = new DsrService({
    meta: dsrStores.meta,
    stores,
    exports: new ExportStore(dsrStores.meta, dsrStores.keys, Buffer.alloc(32, 1)),
    pseudonymKey: Buffer.alloc(32, 2),
  });
  const request = await service.create({ kind: 'erasure', userId, actor: 'test' });
  await service.verify(request.id, 'document check', 'test');
  await service.approve(request.id, 'test');
  const done = await service.run(request.id, 'test');
  return { ...done, proof: done.result as ErasureProof };
}

describe('the erasure proof report', () => {
  it('completes when every store is empty of the subject at the end', async () => {
    const results = new Set(['u-clean']);
    const warehouse = new Set(['u-clean']);
    const done = await erase(
      [rowStore('stream_results', results), rowStore('warehouse', warehouse)],
      'u-clean',
    );
    expect(done.state).toBe('completed');
    expect(done.proof.verified).toBe(true);
  });

  it('fails, naming the store, when a later step writes the subject back into an earlier store', async () => {
    const results = new Set(['u-race']);
    const warehouse = new Set(['u-race']);
    const racing = rowStore('warehouse', warehouse);
    const writesBack: SubjectStore = {
      ...racing,
      async erase(subject) {
        const removed = await racing.erase(subject);
        // A backfill that read the day before this step writes its rows after the stream store's step.
        results.add(subject.userId);
        return removed;
      },
    };
    const done = await erase([rowStore('stream_results', results), writesBack], 'u-race');
    expect(done.state).toBe('failed');
    expect(done.error).toContain('stream_results.rows');
    expect(done.proof.stores).toEqual([
      expect.objectContaining({
        store: 'stream_results',
        found: 1,
        removed: 1,
        verification: expect.objectContaining({ remaining: 1 }),
      }),
      expect.objectContaining({
        store: 'warehouse',
        found: 1,
        removed: 1,
        verification: expect.objectContaining({ remaining: 0 }),
      }),
    ]);
  });
});
