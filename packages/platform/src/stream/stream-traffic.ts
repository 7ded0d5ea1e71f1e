/**
 * Deterministic mixed traffic for the stream jobs' crash test and benchmark: page views in sessions, `api_latency`
 * and `response_received` events, a few users far busier than the rest, arriving a little after their event time
 * and now and then out of order or late.
 */
import type { LogRecord } from '../bus/event-log.ts';
import { streamEvent } from './stream-test-events.ts';

/** A small, fast, seeded generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const endpoints = ['/api/users/:id', '/api/orders', '/api/search', '/api/cart'];
const methods = ['GET', 'POST'];
const models = ['gpt-4o', 'claude-sonnet-4', 'llama-3'];

export interface TrafficOptions {
  events: number;
  /** Events per second of event time (default 200). */
  rate?: number;
  users?: number;
  seed?: number;
  start?: number;
}

export function streamTraffic(options: TrafficOptions): LogRecord[] {
  const next = random(options.seed ?? 1);
  const rate = options.rate ?? 200;
  const users = options.users ?? 500;
  const start = options.start ?? Date.UTC(2026, 2, 1, 9, 0, 0);
  const records: LogRecord[] = new Array(options.events);
  for (let i = 0; i < options.events; i++) {
    const arrival = start + Math.floor((i * 1000) / rate);
    const r = next();
    // Mostly a little before arrival; 1% out of order by up to 20 s, 0.2% late by minutes.
    const delay = r < 0.002 ? 60_000 + next() * 300_000 : r < 0.012 ? next() * 20_000 : next() * 800;
    const time = Math.floor(arrival - delay);
    const busy = next() < 0.3;
    const user = busy ? `user-${Math.floor(next() * 3)}` : `user-${Math.floor(next() * users)}`;
    const session = `${user}-s${Math.floor(time / 1_800_000)}`;
    const kind = next();
    const base = { time, arrival, userId: user, sessionId: session };
    let input: Parameters<typeof streamEvent>[0];
    if (kind < 0.2) {
      input = {
        ...base,
        eventName: 'api_latency',
        properties: {
          endpoint: endpoints[Math.floor(next() * endpoints.length)],
          method: methods[Math.floor(next() * methods.length)],
          status_code: next() < 0.03 ? 503 : 200,
          duration_ms: Math.round(5 + next() * next() * 900),
        },
      };
    } else if (kind < 0.3) {
      const generation = Math.round(300 + next() * 4_000);
      input = {
        ...base,
        eventName: 'response_received',
        properties: {
          model_used: models[Math.floor(next() * models.length)],
          success: next() > 0.05,
          generation_time_ms: generation,
          time_to_first_token_ms: Math.round(generation * 0.2),
          prompt_tokens: Math.round(20 + next() * 500),
          completion_tokens: Math.round(50 + next() * 800),
        },
      };
    } else {
      input = { ...base, eventName: 'page_view', properties: { path: `/p/${Math.floor(next() * 20)}` } };
    }
    records[i] = { offset: i + 1, event: streamEvent(input, i + 1) };
  }
  return records;
}
