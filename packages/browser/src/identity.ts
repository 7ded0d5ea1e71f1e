/**
 * Who and when: the anonymous id (random, kept until `reset`), the user id after `identify`, and the session
 * id, which a new one replaces after 30 minutes (by default) without an event. All live in the `Kv`, so tabs of
 * the origin share them; in cookieless mode the `Kv` is memory and they last one page load.
 */
import { uuidv4 } from './ids.ts';
import type { Kv } from './storage.ts';

interface StoredSession {
  id: string;
  /** The last event's time (epoch ms). */
  last: number;
}

export function anonymousId(kv: Kv): string {
  let id = kv.get<string>('anonymousId');
  if (!id) {
    id = uuidv4();
    kv.set('anonymousId', id);
  }
  return id;
}

/**
 * The session for an event at `now`: the current one, or a new one when the last event is more than `timeoutMs`
 * ago. `isNew` tells the caller to record `session_start`.
 */
export function touchSession(kv: Kv, now: number, timeoutMs: number): { id: string; isNew: boolean } {
  const session = kv.get<StoredSession>('session');
  if (session && now - session.last <= timeoutMs) {
    // One write a second at most is enough to keep the session alive.
    if (now - session.last > 1000 || now < session.last) kv.set('session', { id: session.id, last: now });
    return { id: session.id, isNew: false };
  }
  const id = uuidv4();
  kv.set('session', { id, last: now });
  return { id, isNew: true };
}
