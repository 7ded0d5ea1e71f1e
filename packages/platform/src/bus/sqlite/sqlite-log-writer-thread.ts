/**
 * The event log's writer thread: opens the `LogWriter` and commits each group the main thread sends, one at a time,
 * answering with the outcomes or the error.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  LogWriter,
  type LogWriterOptions,
  type WriterCommand,
  type WriterMessage,
} from './sqlite-log-writer.ts';

const port = parentPort!;
const { file, options } = workerData as { file: string; options: LogWriterOptions };
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

port.on('message', (command: WriterCommand) => {
  if (command.type === 'close') {
    closed = true;
    writer.close();
    send({ type: 'closed' });
    port.close();
    return;
  }
  try {
    const response = writer.commit(command.request);
    send({ type: 'committed', response }, [response.offsets.buffer as ArrayBuffer]);
  } catch (error) {
    const { name, message, code } = error as { name: string; message: string; code?: string };
    send({ type: 'failed', error: { name, message, ...(code === undefined ? {} : { code }) } });
  }
  scheduleBackgroundWork();
});
