/**
 * Checkpoints of the stream engine: its window state and the offset of the last record that state includes, in
 * one JSON file replaced atomically (written beside it, fsynced, renamed over it, the folder fsynced). A crash
 * leaves the previous checkpoint or the new one, never a mix, so state and offset always match.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EngineSnapshot } from './stream-engine.ts';

export interface CheckpointStore {
  load(): Promise<EngineSnapshot | undefined>;
  save(snapshot: EngineSnapshot): Promise<void>;
}

export class FileCheckpointStore implements CheckpointStore {
  // The processor's loop and drain() may both save; saves take turns, in the order they were asked for.
  #saving: Promise<unknown> = Promise.resolve();

  constructor(readonly file: string) {}

  async load(): Promise<EngineSnapshot | undefined> {
    let text: string;
    try {
      text = await fs.promises.readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return JSON.parse(text) as EngineSnapshot;
  }

  save(snapshot: EngineSnapshot): Promise<void> {
    const text = JSON.stringify(snapshot);
    const turn = this.#saving.then(
      () => this.#write(text),
      () => this.#write(text),
    );
    this.#saving = turn.catch(() => undefined);
    return turn;
  }

  async #write(text: string): Promise<void> {
    const dir = path.dirname(this.file);
    await fs.promises.mkdir(dir, { recursive: true });
    const temporary = `${this.file}.${process.pid}.tmp`;
    const handle = await fs.promises.open(temporary, 'w');
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(temporary, this.file);
    const folder = await fs.promises.open(dir, 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  }
}

/** Keeps the checkpoint in memory: for tests and for runs that need no restart. */
export class MemoryCheckpointStore implements CheckpointStore {
  #text: string | undefined;
  async load(): Promise<EngineSnapshot | undefined> {
    return this.#text === undefined ? undefined : (JSON.parse(this.#text) as EngineSnapshot);
  }
  async save(snapshot: EngineSnapshot): Promise<void> {
    this.#text = JSON.stringify(snapshot);
  }
}
