/**
 * The adapter sets the end-to-end suites run against. Each suite is a function of an `AdapterSet` and is invoked
 * once per entry here, so a scale-out set (JetStream, PostgreSQL, Azurite) joins every suite by being added to
 * this list, not by copying a test file.
 */
import Database from 'better-sqlite3';
import { dataPaths } from '../config.ts';
import { startTestPlatform, type TestPlatform, type TestPlatformOptions } from './test-platform.ts';

export interface AdapterSet {
  /** Shown in the suite's name, e.g. `embedded`. */
  name: string;
  /** Starts a platform on these adapters with its own data, a random port and one write key. */
  start(options?: TestPlatformOptions): Promise<TestPlatform>;
  /**
   * The engines' own consistency checks of what they hold (SQLite's `integrity_check`, …), run while the
   * platform is up; the problems found, or [] when all is sound.
   */
  checkIntegrity(tp: TestPlatform): Promise<string[]>;
}

/** SQLite's `PRAGMA integrity_check` on a database file, read-only beside the server's own connection. */
function sqliteIntegrity(file: string): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const result = db.pragma('integrity_check', { simple: false }) as { integrity_check: string }[];
    return result
      .map((row) => row.integrity_check)
      .filter((line) => line !== 'ok')
      .map((line) => `${file}: ${line}`);
  } finally {
    db.close();
  }
}

export const embeddedAdapters: AdapterSet = {
  name: 'embedded',
  start: startTestPlatform,
  async checkIntegrity(tp) {
    const paths = dataPaths(tp.dataDir);
    return [...sqliteIntegrity(paths.eventLog), ...sqliteIntegrity(paths.meta)];
  },
};

export const adapterSets: readonly AdapterSet[] = [embeddedAdapters];
