/**
 * The script-tag build's entry: the same API on `window.deepref`, and `init` from the tag's attributes when it
 * has `data-write-key` (the endpoint defaults to where the script came from).
 */
import { init } from './index.ts';

export * from './index.ts';

const script = document.currentScript as HTMLScriptElement | null;
const writeKey = script?.dataset.writeKey;
if (script && writeKey) init({ writeKey, endpoint: script.dataset.endpoint || new URL(script.src).origin });
