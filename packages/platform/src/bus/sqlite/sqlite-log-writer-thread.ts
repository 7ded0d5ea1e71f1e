/**
 * The event log's writer thread: opens the `LogWriter` and commits what the main thread sends. The main thread does
 * not wait for one commit before it sends the next: whatever arrived while a group was committing is waiting in the
 * port, and is taken at once (`receiveMessageOnPort`) into the next group, up to `maxGroupEvents`. So the writer never
 * sits idle while the main thread is busy with requests and has not yet read the last answer. Each answer says how
 * many of the main thread's commands it covers, in the order they were sent.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import {
  type GroupRequest,
  LogWriter,
  type LogWriterOptions,
  type WriterCommand,
  type WriterMessage,
} from './sqlite-log-writer.ts';

const port = parentPort!;
const { file, options, maxGroupEvents } = workerData as {
  file: string;
  options: LogWriterOptions;
  maxGroupEvents: number;
};
const writer = new LogWriter(file, options);
const send = (message: WriterMessage, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
send({ type: 'ready' });

// Background work runs in short steps between commits: a commit waits for one step at most.
let stepScheduled = false;
let closed = false;
function scheduleBackgroundWork(): void {
  if (stepScheduled || closed || !writer.hasBackgroundWork) return;
  stepScheduled = true;
  setImmediate(() => {
    stepScheduled = false;
    if (closed) return;
    try {
      writer.backgroundStep();
      scheduleBackgroundWork();
    } catch {
      // Only an optimisation waits on it: it is tried again after the next commit.
    }
  });
}
scheduleBackgroundWork();

function close(): void {
  closed = true;
  writer.close();
  send({ type: 'closed' });
  port.close();
}

const eventsOf = (request: GroupRequest) =>
  request.appends.reduce((sum, append) => sum + append.eventIds.length, 0);

/** The requests, in order, as one group: its clock is the latest of theirs. */
function merged(requests: GroupRequest[]): GroupRequest {
  if (requests.length === 1) return requests[0]!;
  const group: GroupRequest = { now: 0, appends: [], offsets: [], replays: [] };
  for (const request of requests) {
    group.now = Math.max(group.now, request.now);
    group.appends.push(...request.appends);
    group.offsets.push(...request.offsets);
    group.replays.push(...request.replays);
  }
  return group;
}

port.on('message', (first: WriterCommand) => {
  if (first.type === 'close') return close();
  const requests = [first.request];
  let events = eventsOf(first.request);
  let closing = false;
  while (events < maxGroupEvents) {
    const next = receiveMessageOnPort(port)?.message as WriterCommand | undefined;
    if (next === undefined) break;
    if (next.type === 'close') {
      closing = true;
      break;
    }
    requests.push(next.request);
    events += eventsOf(next.request);
  }
  try {
    const response = writer.commit(merged(requests));
    send({ type: 'committed', commands: requests.length, response }, [
      response.offsets.buffer as ArrayBuffer,
    ]);
  } catch (error) {
    const { name, message, code } = error as { name: string; message: string; code?: string };
    send({
      type: 'failed',
      commands: requests.length,
      error: { name, message, ...(code === undefined ? {} : { code }) },
    });
  }
  if (closing) return close();
  scheduleBackgroundWork();
});
