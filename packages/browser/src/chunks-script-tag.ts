/**
 * `chunks.ts` for the script-tag (IIFE) build, which cannot split: the chunks are the ESM build's files, loaded
 * from beside the script that is running now.
 */
import type * as Autocapture from './autocapture/index.ts';
import type * as Vitals from './vitals/index.ts';

const base = (document.currentScript as HTMLScriptElement | null)?.src || location.href;
const load = (file: string) => import(/* @vite-ignore */ new URL(file, base).href);

export const loadAutocapture = (): Promise<typeof Autocapture> => load('autocapture.js');
export const loadVitals = (): Promise<typeof Vitals> => load('vitals.js');
