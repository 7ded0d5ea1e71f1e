/** `deepref config print`: the effective configuration, each setting with its origin, secrets hidden. */
import { loadConfig, printableConfig } from '../config-file.ts';

export async function printConfig(options: { config?: string; json?: boolean }): Promise<void> {
  const loaded = await loadConfig(options.config ? { file: options.config } : {});
  const settings = printableConfig(loaded);
  if (options.json) {
    console.log(JSON.stringify({ file: loaded.file ?? null, settings }, null, 2));
    return;
  }
  console.log(`# config file: ${loaded.file ?? '(none: defaults, environment and flags only)'}`);
  const width = Math.max(...Object.keys(settings).map((key) => key.length));
  for (const [key, { value, from }] of Object.entries(settings)) {
    console.log(`${key.padEnd(width)}  ${JSON.stringify(value)}${from === 'default' ? '' : `   (${from})`}`);
  }
}
