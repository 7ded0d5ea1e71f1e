/**
 * A stream processor in its own process for the kill-and-restart test: it reads the event log of a data
 * directory with all six jobs, checkpoints every batch, appends every row it writes to `rows.jsonl`, and at the
 * head of the log closes all windows and exits 0. The test kills it with SIGKILL part way and starts it again.
 *
 *   node --import tsx stream-crash-child.ts <dataDir> <slowMs>
 */
import fs from 'node:fs';
import path from 'node:path';
import { openSqliteEventLog } from '../bus/sqlite/sqlite-event-log.ts';
import { FileCheckpointStore } from './checkpoint.ts';
import { defaultStreamJobs } from './jobs/index.ts';
import { createStreamProcessor, type StreamSink } from './stream-processor.ts';

const [dataDir, slowMs] = process.argv.slice(2) as [string, string];
const log = openSqliteEventLog(path.join(dataDir, 'events.db'), {
  dedupWindowDays: 7,
  maxPendingEvents: 100_000,
});
const rowsFile = path.join(dataDir, 'rows.jsonl');
const sink: StreamSink = {
  async write(rows) {
    fs.appendFileSync(rowsFile, rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
    await new Promise((resolve) => setTimeout(resolve, Number(slowMs)));
  },
};
const processor = createStreamProcessor({
  log,
  jobs: defaultStreamJobs(),
  checkpoints: new FileCheckpointStore(path.join(dataDir, 'stream', 'checkpoint.json')),
  sinks: { warehouse: sink, realtime: sink, alerts: sink },
  policy: { lateArrivalToleranceMs: 30_000, outOfOrderToleranceMs: 5_000 },
  batchSize: 100,
  checkpointEveryMs: 0,
});
await processor.finish();
await log.close();
process.exit(0);
