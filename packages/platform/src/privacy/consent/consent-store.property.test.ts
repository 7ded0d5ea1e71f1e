/**
 * The consent history against a model, on each real MetaStore (SQLite; PostgreSQL when it is reachable): for any
 * sequence of grants, withdrawals and links, the history only grows (every earlier history is a prefix of the later
 * one, row for row), and what the gate's cache answers for every subject equals folding the history of its group,
 * which equals the model's state.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { MetaStore } from '../../storage/meta-store.ts';
import { openPostgresMetaStore } from '../../storage/postgres/postgres-meta-store.ts';
import { openSqliteMetaStore } from '../../storage/sqlite/sqlite-meta-store.ts';
import { describeWithService } from '../../testing/services.ts';
import {
  postgresAdmin,
  postgresReachability,
  postgresUrl,
  testSchemaName,
} from '../../testing/warehouses.ts';
import {
  type ConsentMethod,
  type ConsentMode,
  type ConsentState,
  defaultGrants,
  foldConsent,
  type Grants,
  PURPOSES,
  type Purpose,
  purposesOf,
} from './consent.ts';
import { ConsentCache } from './consent-cache.ts';
import { ConsentStore } from './consent-store.ts';

const users = ['u1', 'u2'];
const anonymous = ['a1', 'a2', 'a3'];
const subjects = [...users, ...anonymous];
const modes: ConsentMode[] = ['opt-out', 'opt-in'];

const grantsOf = (state: ConsentState): Grants =>
  Object.fromEntries(PURPOSES.map((purpose) => [purpose, state[purpose].granted])) as Grants;

type Op =
  | { kind: 'record'; subjectId: string; purposes: Partial<Record<Purpose, boolean>>; method: ConsentMethod }
  | { kind: 'link'; anonymousId: string; userId: string };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('record' as const),
      subjectId: fc.constantFrom(...subjects),
      purposes: fc
        .dictionary(fc.constantFrom(...PURPOSES), fc.boolean(), { minKeys: 1 })
        .map((d) => d as Partial<Record<Purpose, boolean>>),
      method: fc.constantFrom<ConsentMethod>('sdk', 'api', 'admin'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('link' as const),
      anonymousId: fc.constantFrom(...anonymous),
      userId: fc.constantFrom(...users),
    }),
  },
);

/** The model: decisions in order, and which user each anonymous id belongs to. */
class Model {
  readonly decisions: { subjectId: string; purpose: Purpose; granted: boolean }[] = [];
  readonly links = new Map<string, string>();

  apply(o: Op): void {
    if (o.kind === 'link') this.links.set(o.anonymousId, o.userId);
    else
      for (const purpose of PURPOSES) {
        const granted = o.purposes[purpose];
        if (granted !== undefined) this.decisions.push({ subjectId: o.subjectId, purpose, granted });
      }
  }

  grants(subjectIds: string[], mode: ConsentMode): Grants {
    const roots = new Set(subjectIds.map((id) => this.links.get(id) ?? id));
    const inGroup = (id: string) => roots.has(this.links.get(id) ?? id);
    const grants = defaultGrants(mode);
    for (const d of this.decisions) if (inGroup(d.subjectId)) grants[d.purpose] = d.granted;
    return grants;
  }
}

/** Runs the history property on the MetaStore `open` gives (a fresh, empty one). */
function historySuite(engine: { open: () => Promise<MetaStore> }): void {
  it('only grows, and the state the gate reads equals folding it, for any sequence of changes', async () => {
    const store = new ConsentStore(await engine.open());
    await store.ensurePolicy();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 25 }),
        fc.constantFrom(...modes),
        async (ops, mode) => {
          // Each run has subjects of its own in the one store.
          const prefix = `run${run++}/`;
          const id = (subject: string) => prefix + subject;
          const all = subjects.map(id);
          // A long TTL: only invalidation on write can keep the cache right.
          // Every other run with a cache smaller than the subjects, so that entries are evicted and read again.
          const cache = new ConsentCache(store, { ttlMs: 3_600_000, maxSubjects: run % 2 ? 3 : 100 });
          const model = new Model();
          let previous = await store.history(all);
          for (const o of ops) {
            // Read every subject first, so that stale cache entries would show after the write.
            for (const s of subjects) await cache.grants([id(s)], mode);
            if (o.kind === 'link') await cache.link(id(o.anonymousId), id(o.userId));
            else await cache.record({ subjectId: id(o.subjectId), purposes: o.purposes, method: o.method });
            model.apply(o);

            const history = await store.history(all);
            expect(history.slice(0, previous.length)).toEqual(previous);
            expect(history.length).toBe(model.decisions.length);
            previous = history;

            for (const s of subjects) {
              const group = await store.group(await store.rootOf(id(s)));
              const folded = grantsOf(foldConsent(await store.history(group), mode));
              expect(folded, `fold for ${s}`).toEqual(model.grants([s], mode));
              expect(await cache.grants([id(s)], mode), `cache for ${s}`).toEqual(folded);
            }
            for (const u of users) {
              for (const a of anonymous) {
                expect(await cache.grants([id(u), id(a)], mode), `${u} with ${a}`).toEqual(
                  model.grants([u, a], mode),
                );
              }
            }
          }
        },
      ),
      { numRuns: 40 },
    );
  });
}

describe('consent history (SQLite MetaStore)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-consent-'));
  let meta: MetaStore | undefined;
  afterAll(async () => {
    await meta?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  historySuite({
    open: async () => {
      meta = await openSqliteMetaStore(path.join(dir, 'meta.db'));
      return meta;
    },
  });
});

describeWithService(postgresReachability, 'consent history (PostgreSQL MetaStore)', () => {
  const schema = testSchemaName();
  let meta: MetaStore | undefined;
  afterAll(async () => {
    await meta?.destroy();
    await postgresAdmin((client) => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
  });
  historySuite({
    open: async () => {
      meta = await openPostgresMetaStore({ connectionString: postgresUrl, schema });
      return meta;
    },
  });
});

describe('purposes of an event', () => {
  it("are a registered event's declared purposes, and analytics for a custom event", () => {
    expect(purposesOf('api_latency')).toEqual(['data_collection']);
    expect(purposesOf('search_query')).toEqual(['analytics']);
    expect(purposesOf('my_custom_thing')).toEqual(['analytics']);
    expect(purposesOf('identify')).toEqual(['analytics']);
  });
});
