/**
 * @deepref/browser: `init` once, then `track`, `page`, `identify`, `reset`, `setConsent`, `flush`, `shutdown`.
 * Calls made before `init` wait for it (up to 100). `stats` and `anonymousId` read the running client.
 * `createClient` makes an independent client.
 */
import type { EventProperties } from '@deepref/schema';
import { type Client, createClient, type InitOptions, type Properties, type TrackArgs } from './client.ts';
import type { Consent } from './consent.ts';
import type { Stats } from './delivery/sender.ts';

export type { AutocaptureOptions } from './autocapture/options.ts';
export type { Client, InitOptions, Properties, TrackArgs, TrackOptions } from './client.ts';
export type { Consent } from './consent.ts';
export type { Stats } from './delivery/sender.ts';
export { createClient };

let client: Client | undefined;
let early: ((client: Client) => void)[] = [];

const call = (use: (client: Client) => void) => {
  if (client) use(client);
  else if (early.length < 100) early.push(use);
};

/** Starts the SDK; a second call returns the running client and ignores its options. */
export function init(options: InitOptions): Client {
  if (!client) {
    client = createClient(options);
    for (const use of early) use(client);
    early = [];
  }
  return client;
}

export function track<N extends string>(eventName: N, ...args: TrackArgs<N>): void {
  call((c) => c.track(eventName, ...args));
}

export function page(name?: string, properties?: EventProperties<'page_view'>): void {
  call((c) => c.page(name, properties));
}

export function identify(userId: string, traits?: Properties): void {
  call((c) => c.identify(userId, traits));
}

export function reset(): void {
  call((c) => c.reset());
}

export function setConsent(consent: Consent): void {
  call((c) => c.setConsent(consent));
}

export async function flush(): Promise<void> {
  await client?.flush();
}

/** Stops the client and sends what is queued; `init` may be called again afterwards. */
export async function shutdown(): Promise<void> {
  const stopping = client;
  client = undefined;
  await stopping?.shutdown();
}

export function stats(): Stats | undefined {
  return client?.stats();
}

/** The anonymous id this page's events carry; undefined before `init`. */
export function anonymousId(): string | undefined {
  return client?.anonymousId();
}
