/**
 * The real platform (collector, event log, stores) for the SDK's end-to-end tests, with what the SDK's tests
 * need on top of the platform's own test harness: read what was stored, and stop and start the platform again
 * on the same port and data directory, as a collector restart in production does.
 */
import fs from 'node:fs';
import type { StoredEvent } from '@deepref/schema';
import { defaultConfig } from '../../../platform/src/config.ts';
import { type RunningPlatform, startPlatform } from '../../../platform/src/platform.ts';
import { startTestPlatform } from '../../../platform/src/testing/test-platform.ts';

export interface RealCollector {
  readonly url: string;
  readonly writeKey: string;
  readonly dataDir: string;
  /** Every event in the event log, in log order. */
  events(): Promise<StoredEvent[]>;
  /** Graceful stop (in-flight requests finish); the data stays. */
  stop(): Promise<void>;
  /** Starts the platform again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops and removes the data directory. */
  close(): Promise<void>;
}

export async function startRealCollector(): Promise<RealCollector> {
  const test = await startTestPlatform();
  let platform: RunningPlatform | undefined = test.platform;
  const port = Number(new URL(test.url).port);
  const { dataDir } = test;
  return {
    url: test.url,
    writeKey: test.writeKey,
    dataDir,
    events: async () => {
      if (!platform) throw new Error('the platform is stopped');
      return (await platform.log.read(0, 1_000_000)).map((record) => record.event);
    },
    stop: async () => {
      await platform?.close();
      platform = undefined;
    },
    start: async () => {
      platform = await startPlatform(defaultConfig({ port, dataDir }), { logger: false });
    },
    close: async () => {
      await platform?.close();
      platform = undefined;
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
