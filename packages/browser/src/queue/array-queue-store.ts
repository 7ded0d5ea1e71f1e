/**
 * The queue adapters that hold it as one array: memory (cookieless mode) and localStorage (where IndexedDB is
 * unusable). Every operation is synchronous underneath, so nothing is ever half-written.
 */
import type { Kv } from '../storage.ts';
import { admit, type QueuedEvent, type QueueStore } from './queue-store.ts';

function arrayQueueStore(
  maxBytes: number,
  load: () => QueuedEvent[],
  save: (queue: QueuedEvent[]) => boolean,
): QueueStore {
  return {
    add: async (events) => {
      const { queue, evicted } = admit(load(), events, maxBytes);
      // A full localStorage refuses the write: give up the oldest half until it fits.
      let kept = queue;
      while (!save(kept) && kept.length) kept = kept.slice(Math.ceil(kept.length / 2));
      return evicted + queue.length - kept.length;
    },
    peek: async (limit) => load().slice(0, limit),
    remove: async (ids) => {
      const gone = new Set(ids);
      save(load().filter((event) => !gone.has(event.id)));
    },
    close: () => {},
  };
}

export function memoryQueueStore(maxBytes: number): QueueStore {
  let queue: QueuedEvent[] = [];
  return arrayQueueStore(
    maxBytes,
    () => queue,
    (next) => {
      queue = next;
      return true;
    },
  );
}

interface TabQueue {
  /** When the tab last wrote or read its queue (epoch ms); 0 once it left. */
  beat: number;
  events: QueuedEvent[];
}

/**
 * The queue in localStorage, for browsers without IndexedDB. localStorage has no transactions and tabs see each
 * other's writes late, so each tab keeps its own queue under its own key (one writer per key: no update is
 * lost) and sends it itself. A tab that left (pagehide) or has not touched its queue for `orphanMs` (a
 * background tab runs its timer at least once a minute) is adopted by the next tab that reads: its events move
 * into that tab's queue. Should the adopted tab still be alive, an event may be sent twice, never lost; the
 * collector stores it once.
 */
export function localStorageQueueStore(
  kv: Kv,
  ns: string,
  tabId: string,
  maxBytes: number,
  onEvicted: (count: number) => void,
  orphanMs = 180_000,
): QueueStore {
  const prefix = `queue:${ns}:`;
  const key = prefix + tabId;
  const load = () => kv.get<TabQueue>(key)?.events ?? [];
  const store = arrayQueueStore(maxBytes, load, (events) => kv.set(key, { beat: Date.now(), events }));
  const adopt = async () => {
    for (const other of kv.keys(prefix)) {
      const queue = other === key ? undefined : kv.get<TabQueue>(other);
      if (!queue || queue.beat > Date.now() - orphanMs) continue;
      onEvicted(await store.add(queue.events));
      kv.remove(other);
    }
  };
  return {
    ...store,
    async peek(limit) {
      await adopt();
      const events = load();
      kv.set(key, { beat: Date.now(), events });
      return events.slice(0, limit);
    },
    leave: () => kv.set(key, { beat: 0, events: load() }),
  };
}
