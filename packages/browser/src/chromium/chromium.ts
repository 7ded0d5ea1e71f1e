/**
 * Debian's Chromium for the tests that need a real browser (this package's and the platform's): where it is,
 * whether the tests run, how it is launched (playwright-core, never a downloaded browser), and a poll for what
 * a test waits on. Exported as `@deepref/browser/testing/chromium`.
 */
import fs from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const chromiumPath = process.env.DEEPREF_CHROMIUM || '/usr/bin/chromium';
export const chromiumFound = fs.existsSync(chromiumPath);
export const servicesRequired = process.env.DEEPREF_REQUIRE_SERVICES === '1';
/** Run the Chromium tests when Chromium is there, and when CI requires them (where its absence fails them). */
export const runChromiumTests = chromiumFound || servicesRequired;

/** Says, once per test file, that `suite` is skipped (or, under DEEPREF_REQUIRE_SERVICES=1, will fail). */
export function warnIfChromiumMissing(suite: string): void {
  if (chromiumFound) return;
  console.warn(
    `Chromium not found at ${chromiumPath}: ${servicesRequired ? 'failing' : 'skipping'} ${suite}. ` +
      'Install it (apt-get install chromium) or point DEEPREF_CHROMIUM at it.',
  );
}

const launchArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Fails saying where Chromium was looked for, unless it is there; call it before starting anything else. */
export function requireChromium(): void {
  if (!chromiumFound) {
    throw new Error(
      `Chromium not found at ${chromiumPath} (DEEPREF_REQUIRE_SERVICES=1 requires it; set DEEPREF_CHROMIUM)`,
    );
  }
}

/** Starts headless Chromium, or fails saying where it was looked for. */
export async function launchChromium(): Promise<Browser> {
  requireChromium();
  return chromium.launch({ executablePath: chromiumPath, args: launchArgs });
}

/** Polls `probe` until it returns a value (not undefined or false); fails after `timeoutMs` saying what it waited for. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
