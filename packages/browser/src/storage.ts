/**
 * Small values the SDK keeps between page loads (ids, session, consent, retry state): in localStorage, or in
 * memory in cookieless mode and where localStorage is unusable (blocked, full, sandboxed frames).
 */

export interface Kv {
  get<T>(key: string): T | undefined;
  /** Returns false when the value could not be stored (quota, blocked storage). */
  set(key: string, value: unknown): boolean;
  remove(key: string): void;
  /** The keys starting with `prefix`. */
  keys(prefix: string): string[];
}

export function memoryKv(): Kv {
  const values = new Map<string, string>();
  return {
    get: (key) => parse(values.get(key)),
    set: (key, value) => {
      values.set(key, JSON.stringify(value));
      return true;
    },
    remove: (key) => {
      values.delete(key);
    },
    keys: (prefix) => [...values.keys()].filter((key) => key.startsWith(prefix)),
  };
}

/** localStorage under `deepref:`, or undefined when it cannot be used. */
export function localKv(): Kv | undefined {
  let storage: Storage;
  try {
    storage = localStorage;
    storage.setItem('deepref:probe', '1');
    storage.removeItem('deepref:probe');
  } catch {
    return undefined;
  }
  const at = (key: string) => `deepref:${key}`;
  return {
    get: (key) => {
      try {
        return parse(storage.getItem(at(key)));
      } catch {
        return undefined;
      }
    },
    set: (key, value) => {
      try {
        storage.setItem(at(key), JSON.stringify(value));
        return true;
      } catch {
        return false;
      }
    },
    remove: (key) => {
      try {
        storage.removeItem(at(key));
      } catch {}
    },
    keys: (prefix) => {
      const found: string[] = [];
      try {
        for (let i = 0; i < storage.length; i++) {
          const key = storage.key(i);
          if (key?.startsWith(at(prefix))) found.push(key.slice(8));
        }
      } catch {}
      return found;
    },
  };
}

function parse<T>(text: string | null | undefined): T | undefined {
  if (text == null) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
