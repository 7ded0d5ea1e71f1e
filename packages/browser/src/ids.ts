/**
 * Event and visitor ids. Event ids are UUID v7 (RFC 9562): a millisecond timestamp, then randomness, made
 * monotonic within a page so that a queue keyed by id is also in track order.
 */

let lastMs = -1;
let counter = 0;

function hex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    s += (bytes[i]! + 256).toString(16).slice(1);
    if (i === 3 || i === 5 || i === 7 || i === 9) s += '-';
  }
  return s;
}

/**
 * A UUID v7. Within one millisecond, and when the clock steps back, the 12-bit `rand_a` field counts up from
 * the last id (RFC 9562 §6.2, method 1), so ids made here sort in the order they were made.
 */
export function uuidv7(now: number = Date.now()): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  if (now > lastMs) {
    lastMs = now;
    // Start low in the counter's range so that a burst within one millisecond rarely overflows it.
    counter = bytes[6]! & 0x07;
  } else if (++counter > 0xfff) {
    lastMs++;
    counter = 0;
  }
  let ms = lastMs;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  return hex(bytes);
}

/** A random UUID v4, for ids that must not reveal when they were made (the anonymous id, the session id). */
export function uuidv4(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = 0x40 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  return hex(bytes);
}
