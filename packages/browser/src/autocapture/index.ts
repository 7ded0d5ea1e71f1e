/**
 * The autocapture chunk, loaded by the core after `init` unless autocapture is off. It imports nothing from the
 * core at run time: the core hands it a `CaptureApi`.
 */
import { captureErrors } from './errors.ts';
import { captureForms } from './forms.ts';
import type { Cleanup } from './listen.ts';
import { captureNavigation } from './navigation.ts';
import { captureNetwork } from './network.ts';
import type { AutocaptureOptions, CaptureApi } from './options.ts';
import { capturePerformance } from './performance.ts';

/** Starts the kinds of autocapture that `options` leaves on; returns the function that stops them all. */
export function startAutocapture(api: CaptureApi, options: AutocaptureOptions): Cleanup {
  const on = (kind: keyof AutocaptureOptions) => options[kind] ?? kind !== 'networkRequests';
  const cleanups = [...captureNavigation(api, on), ...captureForms(api, on)];
  if (on('errors')) cleanups.push(...captureErrors(api));
  if (on('performance')) cleanups.push(...capturePerformance(api));
  if (on('networkRequests')) cleanups.push(...captureNetwork(api));
  return () => {
    for (const cleanup of cleanups) cleanup();
  };
}
