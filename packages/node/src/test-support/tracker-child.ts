/**
 * A process that tracks events for the tests that need a real process around the client: killed with SIGKILL
 * (the spill must survive), or left to end on its own (`beforeExit` must deliver).
 *
 *   node --import tsx tracker-child.ts <endpoint> <writeKey> <spillDir|-> <mode>
 *
 * mode `commands`: reads lines from stdin, `track <from> <count>` and `flush`, answers each with `ok <stats>`.
 * mode `exit:<count>`: tracks `count` events and returns; the process ends when its event loop is empty.
 */
import readline from 'node:readline';
import { DeeprefClient } from '../client.ts';

const [endpoint, writeKey, spillDir, mode] = process.argv.slice(2) as [string, string, string, string];

const client = new DeeprefClient({
  endpoint,
  writeKey,
  batchSize: 50,
  flushIntervalMs: 60_000,
  retry: { initialDelayMs: 20, maxDelayMs: 200 },
  ...(spillDir === '-' ? {} : { spill: { directory: spillDir, fsync: 'never' } }),
  onError: () => {},
});

const track = (from: number, count: number) => {
  for (let seq = from; seq < from + count; seq++) void client.track('sdk_probe', { seq });
};

if (mode.startsWith('exit:')) {
  track(0, Number(mode.slice('exit:'.length)));
} else {
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', async (line) => {
    const [command, from, count] = line.trim().split(' ');
    if (command === 'track') track(Number(from), Number(count));
    if (command === 'flush') await client.flush();
    process.stdout.write(`ok ${JSON.stringify(client.stats())}\n`);
  });
}
