/** Cooperative yielding for long synchronous stretches that share the collector's event loop. */

/** Lets every callback that is ready run (timers, I/O, requests) before carrying on. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
