/**
 * The queue in IndexedDB, shared by every tab of the origin. Each change is one readwrite transaction over the
 * events and their byte total, and IndexedDB runs such transactions one at a time across tabs, so the total and
 * the budget hold with any number of tabs writing at once.
 */
import { type Lease, mayClaim } from '../send-lock.ts';
import type { QueuedEvent, QueueStore } from './queue-store.ts';

const EVENTS = 'events';
const TOTALS = 'totals';

function done<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export interface IndexedDbQueueStore extends QueueStore {
  /** The sender's lease, held in the same database (for browsers without Web Locks). */
  lease(owner: string): Lease;
}

/** Opens (creating if needed) the database `name`; rejects where IndexedDB is missing or blocked. */
export async function openIndexedDbQueueStore(name: string, maxBytes: number): Promise<IndexedDbQueueStore> {
  const open = indexedDB.open(name, 1);
  open.onupgradeneeded = () => {
    open.result.createObjectStore(EVENTS, { keyPath: 'id' });
    open.result.createObjectStore(TOTALS);
  };
  const db = await done(open);
  db.onversionchange = () => db.close();

  /** Runs `work` in one readwrite transaction and resolves with its result once the transaction has committed. */
  const change = <T>(work: (events: IDBObjectStore, totals: IDBObjectStore) => Promise<T>): Promise<T> => {
    const tx = db.transaction([EVENTS, TOTALS], 'readwrite');
    const committed = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = tx.onabort = () => reject(tx.error);
    });
    const result = work(tx.objectStore(EVENTS), tx.objectStore(TOTALS));
    result.catch(() => {
      try {
        tx.abort();
      } catch {}
    });
    return committed.then(() => result);
  };
  const bytesOf = async (totals: IDBObjectStore) => ((await done(totals.get('bytes'))) as number) || 0;

  return {
    add: (added) =>
      change(async (events, totals) => {
        let bytes = await bytesOf(totals);
        for (const event of added) {
          if (await done(events.count(event.id))) continue;
          events.put(event);
          bytes += event.bytes;
        }
        let evicted = 0;
        if (bytes > maxBytes) {
          const cursor = events.openCursor();
          await new Promise<void>((resolve, reject) => {
            cursor.onerror = () => reject(cursor.error);
            cursor.onsuccess = () => {
              const at = cursor.result;
              if (!at || bytes <= maxBytes) return resolve();
              bytes -= (at.value as QueuedEvent).bytes;
              evicted++;
              at.delete();
              at.continue();
            };
          });
        }
        totals.put(bytes, 'bytes');
        return evicted;
      }),
    peek: async (limit) => done(db.transaction(EVENTS).objectStore(EVENTS).getAll(null, limit)),
    remove: (ids) =>
      change(async (events, totals) => {
        let bytes = await bytesOf(totals);
        for (const id of ids) {
          const event = (await done(events.get(id))) as QueuedEvent | undefined;
          if (!event) continue;
          bytes -= event.bytes;
          events.delete(id);
        }
        totals.put(Math.max(0, bytes), 'bytes');
      }),
    lease: (owner) => ({
      claim: (ms) =>
        change(async (_, totals) => {
          const free = mayClaim(await done(totals.get('lease')), owner, Date.now());
          if (free) totals.put({ owner, until: Date.now() + ms }, 'lease');
          return free;
        }),
      release: () =>
        change(async (_, totals) => {
          const holder = (await done(totals.get('lease'))) as { owner: string } | undefined;
          if (holder?.owner === owner) totals.delete('lease');
        }),
    }),
    close: () => db.close(),
  };
}
