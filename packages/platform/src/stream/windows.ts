/**
 * Window definitions with Azure Stream Analytics semantics. Tumbling and hopping windows cover (end − size, end],
 * end = k·hop + offset for an integer k (time zero is the Unix epoch); a tumbling window is a hopping window whose
 * hop is its size. A sliding window (T − size, T] is output at every T where its content changes: when an event
 * enters (T = its time) or leaves (T = its time + size), if the window then holds at least one event. A session
 * window starts at its first event; each event within `timeout` of the previous one extends it; it closes at the
 * previous event + timeout, or earlier at the first multiple of `maxDuration` (counted from time zero, as ASA
 * checks it) that lies at least `maxDuration` after its start. Every window's output timestamp is its end.
 */
export type WindowSpec =
  | { kind: 'tumbling'; sizeMs: number; offsetMs: number }
  | { kind: 'hopping'; sizeMs: number; hopMs: number; offsetMs: number }
  | { kind: 'sliding'; sizeMs: number }
  | { kind: 'session'; timeoutMs: number; maxDurationMs: number };

export const seconds = (n: number): number => n * 1_000;
export const minutes = (n: number): number => n * 60_000;
export const hours = (n: number): number => n * 3_600_000;

function positiveInteger(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${name} must be a positive whole number of milliseconds, got ${value}`);
  }
}

export function tumblingWindow(sizeMs: number, offsetMs = 0): WindowSpec {
  positiveInteger('tumbling window size', sizeMs);
  if (!Number.isSafeInteger(offsetMs) || offsetMs < 0 || offsetMs >= sizeMs) {
    throw new RangeError(`tumbling window offset must be in [0, size), got ${offsetMs}`);
  }
  return { kind: 'tumbling', sizeMs, offsetMs };
}

export function hoppingWindow(sizeMs: number, hopMs: number, offsetMs = 0): WindowSpec {
  positiveInteger('hopping window size', sizeMs);
  positiveInteger('hopping window hop', hopMs);
  if (hopMs > sizeMs)
    throw new RangeError(`hopping window hop (${hopMs}) must not exceed its size (${sizeMs})`);
  if (!Number.isSafeInteger(offsetMs) || offsetMs < 0 || offsetMs >= hopMs) {
    throw new RangeError(`hopping window offset must be in [0, hop), got ${offsetMs}`);
  }
  return { kind: 'hopping', sizeMs, hopMs, offsetMs };
}

export function slidingWindow(sizeMs: number): WindowSpec {
  positiveInteger('sliding window size', sizeMs);
  return { kind: 'sliding', sizeMs };
}

export function sessionWindow(timeoutMs: number, maxDurationMs: number): WindowSpec {
  positiveInteger('session window timeout', timeoutMs);
  positiveInteger('session window maximum duration', maxDurationMs);
  return { kind: 'session', timeoutMs, maxDurationMs };
}

/** The smallest k·step + offset that is ≥ t. */
export function alignUp(t: number, step: number, offset: number): number {
  return Math.ceil((t - offset) / step) * step + offset;
}

export function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Where a session that started at `start` is cut at the latest: ASA's maximum-duration check. */
export function sessionCutoff(start: number, maxDurationMs: number): number {
  return Math.ceil((start + maxDurationMs) / maxDurationMs) * maxDurationMs;
}
