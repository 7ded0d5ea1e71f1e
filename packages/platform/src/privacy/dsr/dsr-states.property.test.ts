/**
 * The request state machine under random sequences of actions, against the real service and a real MetaStore:
 * a request never runs (no store is read for it) unless its identity was verified and it was approved; a refused
 * action changes nothing and says so with DEEPREF_DSR_INVALID_TRANSITION; and the audit rows are exactly the
 * transitions that happened, in order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExportStore } from '../../exports/export-store.ts';
import { DsrService } from './dsr-service.ts';
import { type DsrAction, type DsrState, dsrActions, nextState } from './dsr-states.ts';
import { useDsrTestStores } from './dsr-test-stores.ts';
import type { SubjectStore } from './subject-stores.ts';

const dsrStores = useDsrTestStores('deepref-dsr-states-');

describe('data subject request states', () => {
  it('never runs an unverified request, and audits exactly the transitions', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: 2 }), fc.constantFrom(...dsrActions), fc.boolean()), {
          maxLength: 14,
        }),
        async (steps) => {
          run++;
          /** Subjects whose data a store was asked for: a request ran. */
          const read = new Set<string>();
          const probe: SubjectStore = {
            name: 'probe',
            verificationQuery: 'probe',
            async find(subject) {
              read.add(subject.userId);
              return {};
            },
            async erase() {
              return {};
            },
          };
          const service = new DsrService({
            meta: dsrStores.meta,
            stores: [probe],
            exports: new ExportStore(dsrStores.meta, dsrStores.keys, Buffer.alloc(32, 1)),
            pseudonymKey: Buffer.alloc(32, 2),
          });
          const requests = await Promise.all(
            [0, 1, 2].map((i) =>
              service.create({
                kind: i === 0 ? 'export' : 'erasure',
                userId: `run${run}-u${i}`,
                actor: 'test',
              }),
            ),
          );
          const model: DsrState[] = requests.map(() => 'received');
          const expectedAudit: DsrState[][] = requests.map(() => ['received']);
          const verified = requests.map(() => false);

          for (const [index, action, viaRun] of steps) {
            const id = requests[index]!.id;
            const before = model[index]!;
            // `start` is reached through run() (which then completes); complete/fail are tried directly.
            const attempt: Promise<unknown> =
              action === 'verify'
                ? service.verify(id, 'document check', 'test')
                : action === 'approve'
                  ? service.approve(id, 'test')
                  : action === 'cancel'
                    ? service.cancel(id, 'test')
                    : action === 'start' || viaRun
                      ? service.run(id, 'test')
                      : service.transition(id, action as DsrAction, 'test');
            const runs = action === 'start' || (viaRun && !['verify', 'approve', 'cancel'].includes(action));
            const first: DsrAction = runs ? 'start' : action;
            const next = nextState(before, first);
            const outcome = await attempt.then(
              () => 'ok',
              (error: { code?: string }) => error.code,
            );
            if (next === undefined) {
              expect(outcome).toBe('DEEPREF_DSR_INVALID_TRANSITION');
              continue;
            }
            expect(outcome).toBe('ok');
            if (first === 'verify') verified[index] = true;
            expectedAudit[index]!.push(next);
            model[index] = next;
            if (runs) {
              // The probe store answers, so the run completes.
              expectedAudit[index]!.push('completed');
              model[index] = 'completed';
            }
          }

          for (const [i, request] of requests.entries()) {
            const stored = await service.get(request.id);
            expect(stored.state).toBe(model[i]);
            const audit = await service.audit(request.id);
            expect(audit.map((a) => a.toState)).toEqual(expectedAudit[i]);
            expect(audit.map((a) => a.fromState)).toEqual([null, ...expectedAudit[i]!.slice(0, -1)]);
            const ran = read.has(`run${run}-u${i}`);
            expect(ran).toBe(expectedAudit[i]!.includes('in_progress'));
            if (ran) expect(verified[i]).toBe(true);
          }
        },
      ),
      { numRuns: 60 },
    );
  }, 120_000);
});
