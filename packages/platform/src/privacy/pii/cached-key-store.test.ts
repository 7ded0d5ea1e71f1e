/**
 * The data key cache over a key store that two processes share (two local stores on the same files): an erasure
 * made through the other process stops this one's use of the key once the cache's time-to-live has passed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KeyStore } from '../keys/key-store.ts';
import { openLocalKeyStore } from '../keys/local/local-key-store.ts';
import { CachedKeyStore } from './cached-key-store.ts';

let dir: string;
let clock: number;
let collector: CachedKeyStore;
let eraser: KeyStore;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-key-cache-'));
  const options = {
    masterKeyFile: path.join(dir, 'secrets', 'master.key'),
    databaseFile: path.join(dir, 'keys.db'),
  };
  clock = 1_000_000;
  collector = new CachedKeyStore(await openLocalKeyStore(options), 10, { ttlMs: 5_000, now: () => clock });
  eraser = await openLocalKeyStore(options);
});

afterEach(async () => {
  await collector.close();
  await eraser.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('CachedKeyStore', () => {
  it('stops using a key destroyed by another process once the time-to-live has passed', async () => {
    const before = await collector.dataKeyFor('user-x');
    await eraser.destroy('user-x');

    // Within the bound the cached key is still used: this is the documented window.
    clock += 4_999;
    expect((await collector.dataKeyFor('user-x')).keyId).toBe(before.keyId);

    clock += 1;
    expect(await collector.existingDataKey('user-x')).toBeUndefined();
    const after = await collector.dataKeyFor('user-x');
    expect(after.keyId).not.toBe(before.keyId);
    expect((await eraser.existingDataKey('user-x'))?.keyId).toBe(after.keyId);
  });

  it('counts the time-to-live from before the lookup, not from when the key arrived', async () => {
    const started = clock;
    const lookup = collector.dataKeyFor('user-x');
    clock += 3_000; // the store answers late
    const key = await lookup;
    clock = started + 5_000;
    await eraser.destroy('user-x');
    expect((await collector.dataKeyFor('user-x')).keyId).not.toBe(key.keyId);
  });

  it('keeps a key that nobody destroyed, asking the store again after the time-to-live', async () => {
    const first = await collector.dataKeyFor('user-y');
    clock += 60_000;
    const again = await collector.dataKeyFor('user-y');
    expect(again.keyId).toBe(first.keyId);
    expect(again.key.export()).toEqual(first.key.export());
  });

  it('forgets a key destroyed through it at once', async () => {
    const before = await collector.dataKeyFor('user-z');
    await collector.destroy('user-z');
    expect(await collector.existingDataKey('user-z')).toBeUndefined();
    expect((await collector.dataKeyFor('user-z')).keyId).not.toBe(before.keyId);
  });
});
