/**
 * Retention in the embedded event log: events that every named consumer has passed and that the log took before
 * the cutoff leave it (the warehouse and the lake keep them for their own, longer, retention); dead letters go by
 * their receive time. Deleted cells are overwritten (`secure_delete`), so expired data does not linger in free
 * pages. The newest event stays, whatever its age, so that offsets are never reused.
 */
import type Database from 'better-sqlite3';
import type { LogExpiry } from '../event-log.ts';

export function expireLogRows(
  db: Database.Database,
  expiry: LogExpiry,
): { events: number; deadLetters: number } {
  const offsets = db.prepare('SELECT consumer, "offset" FROM consumer_offsets').all() as {
    consumer: string;
    offset: number;
  }[];
  const committed = new Map(offsets.map((row) => [row.consumer, row.offset]));
  // One partition: its consumers are consumers of the whole log.
  const consumers = [...expiry.consumers, ...(expiry.partitionConsumers ?? []).map((name) => name(0))];
  const passed = Math.min(...consumers.map((consumer) => committed.get(consumer) ?? 0));
  const newest = (db.prepare('SELECT max("offset") FROM events').pluck().get() as number | null) ?? 0;
  const upTo = Math.min(passed, newest - 1);
  const eventsWhere = '"offset" <= @upTo AND appended_at < @before';
  const lettersWhere = 'received_at < @before';
  const eventParams = { upTo, before: expiry.before.events.getTime() };
  const letterParams = { before: expiry.before.deadLetters.toISOString() };
  if (expiry.dryRun) {
    return {
      events: db
        .prepare(`SELECT count(*) FROM events WHERE ${eventsWhere}`)
        .pluck()
        .get(eventParams) as number,
      deadLetters: db
        .prepare(`SELECT count(*) FROM dead_letters WHERE ${lettersWhere}`)
        .pluck()
        .get(letterParams) as number,
    };
  }
  const secure = db.pragma('secure_delete', { simple: true });
  db.pragma('secure_delete = ON');
  try {
    return db.transaction(() => ({
      events: db.prepare(`DELETE FROM events WHERE ${eventsWhere}`).run(eventParams).changes,
      deadLetters: db.prepare(`DELETE FROM dead_letters WHERE ${lettersWhere}`).run(letterParams).changes,
    }))();
  } finally {
    db.pragma(`secure_delete = ${secure ? 'ON' : 'OFF'}`);
  }
}
