import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsLakeStore } from './fs-lake-store.ts';

let dir: string;
let lake: FsLakeStore;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deepref-lake-'));
  lake = new FsLakeStore(path.join(dir, 'lake'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function localFile(name: string, content: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

describe('FsLakeStore', () => {
  it('moves a file into place under its key, creating folders', async () => {
    const source = localFile('staged.parquet', 'abc');
    await lake.putFile('events/event_date=2026-11-27/part-1-2.parquet', source);

    const target = path.join(dir, 'lake', 'events', 'event_date=2026-11-27', 'part-1-2.parquet');
    expect(fs.readFileSync(target, 'utf8')).toBe('abc');
    expect(fs.existsSync(source)).toBe(false);
    expect(await lake.localPath('events/event_date=2026-11-27/part-1-2.parquet')).toBe(target);
  });

  it('replaces an object put again under the same key', async () => {
    await lake.putFile('a/b.parquet', localFile('one', 'first'));
    await lake.putFile('a/b.parquet', localFile('two', 'second'));
    expect(fs.readFileSync(await lake.localPath('a/b.parquet'), 'utf8')).toBe('second');
  });

  it('lists every object under a prefix, recursively, with sizes, in key order', async () => {
    await lake.putFile('events/event_date=2026-11-27/part-2.parquet', localFile('a', '12'));
    await lake.putFile('events/event_date=2026-11-26/part-1.parquet', localFile('b', '1'));
    await lake.putFile('events/event_date=2026-11-27/part-3.parquet', localFile('c', '123'));
    await lake.putFile('exports/x.csv', localFile('d', 'x'));

    expect(await lake.list('events/')).toEqual([
      { key: 'events/event_date=2026-11-26/part-1.parquet', size: 1 },
      { key: 'events/event_date=2026-11-27/part-2.parquet', size: 2 },
      { key: 'events/event_date=2026-11-27/part-3.parquet', size: 3 },
    ]);
    expect((await lake.list('events/event_date=2026-11-27')).map((o) => o.key)).toEqual([
      'events/event_date=2026-11-27/part-2.parquet',
      'events/event_date=2026-11-27/part-3.parquet',
    ]);
    expect((await lake.list('')).length).toBe(4);
    expect(await lake.list('nothing/here/')).toEqual([]);
  });

  it('deletes an object, and a missing one without complaint', async () => {
    await lake.putFile('events/x.parquet', localFile('a', '1'));
    await lake.delete('events/x.parquet');
    await lake.delete('events/x.parquet');
    expect(await lake.list('events/')).toEqual([]);
  });

  it('gives a glob DuckDB reads every Parquet file under a prefix with', () => {
    expect(lake.glob('events')).toBe(`${path.join(dir, 'lake', 'events')}/**/*.parquet`);
    expect(lake.glob('events/')).toBe(`${path.join(dir, 'lake', 'events')}/**/*.parquet`);
  });

  it('refuses keys that would leave the lake', async () => {
    await expect(lake.putFile('../outside.parquet', localFile('a', '1'))).rejects.toThrow(/Invalid lake key/);
    await expect(lake.delete('events/../../x')).rejects.toThrow(/Invalid lake key/);
    await expect(lake.localPath('/etc/passwd')).rejects.toThrow(/Invalid lake key/);
  });
});
