/**
 * The effective configuration: the defaults of config.ts, then a config file (`deepref.config.json` or
 * `deepref.config.ts`), then `DEEPREF_*` environment variables, then command-line flags — each later source
 * overriding the earlier. Every setting is checked at start against its default's type and the rules below; an
 * error names the bad key and where it came from. Environment names follow the path: `ingest.maxRequestBytes`
 * is `DEEPREF_INGEST_MAX_REQUEST_BYTES`, `port` is `DEEPREF_PORT`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultConfig, keysFollowing, type PlatformConfig } from './config.ts';
import { DeeprefError } from './errors.ts';

export const configFileNames = ['deepref.config.json', 'deepref.config.ts'] as const;

/** Where each setting's value came from, by dotted path. */
export type ConfigOrigin = 'default' | 'file' | 'env' | 'flag';

export interface LoadedConfig {
  config: PlatformConfig;
  /** The file read, if any. */
  file?: string;
  origins: Record<string, ConfigOrigin>;
}

export interface LoadConfigOptions {
  /** Where to look for a config file (default: the working directory). */
  cwd?: string;
  /** An explicit file (`--config`, `DEEPREF_CONFIG`); a missing one is an error. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values from command-line flags, as a partial config (dotted paths or nested objects). */
  flags?: Record<string, unknown>;
}

type Rule = { oneOf: readonly string[] } | { min?: number; max?: number; integer?: boolean };

/** Settings whose type alone does not say what is allowed. */
const rules: Record<string, Rule> = {
  port: { min: 0, max: 65_535, integer: true },
  role: { oneOf: ['all', 'ingest', 'worker', 'api', 'scheduler'] },
  logLevel: { oneOf: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
  'adapters.eventLog': { oneOf: ['sqlite', 'jetstream'] },
  'adapters.warehouse': { oneOf: ['duckdb', 'postgres'] },
  'adapters.meta': { oneOf: ['sqlite', 'postgres'] },
  'adapters.realtime': { oneOf: ['memory', 'redis'] },
  'adapters.keys': { oneOf: ['local', 'postgres'] },
  'ingest.ipPolicy': { oneOf: ['truncate', 'hash', 'drop'] },
  'ingest.maxRequestBytes': { min: 1024, integer: true },
  'ingest.maxEventBytes': { min: 256, integer: true },
  'ingest.dedupWindowDays': { min: 1, integer: true },
  'ingest.maxPendingEvents': { min: 1, integer: true },
  'privacy.dataKeyCacheTtlMs': { min: 0, integer: true },
  'consent.mode': { oneOf: ['opt-out', 'opt-in'] },
  'nats.partitions': { min: 1, max: 1024, integer: true },
  'nats.replicas': { min: 1, max: 5, integer: true },
  'stream.latePolicy': { oneOf: ['adjust', 'drop'] },
  'stream.lateArrivalToleranceMs': { min: 0, integer: true },
  'stream.earlyArrivalToleranceMs': { min: 0, integer: true },
  'stream.outOfOrderToleranceMs': { min: 0, integer: true },
  'stream.alertThreshold': { min: 1, integer: true },
  'retention.rawEventsDays': { min: 1, integer: true },
  'retention.apiLogsDays': { min: 1, integer: true },
  'retention.errorLogsDays': { min: 1, integer: true },
  'retention.securityLogsDays': { min: 1, integer: true },
  'retention.aggregatedMetricsDays': { min: 1, integer: true },
  'retention.deadLettersDays': { min: 1, integer: true },
  'retention.jobRunsDays': { min: 1, integer: true },
};

/** Names kept from before the config file, each the same as its full name (`DEEPREF_INGEST_IP_POLICY`, …). */
const envAliases: Record<string, string> = {
  DEEPREF_IP_POLICY: 'ingest.ipPolicy',
  DEEPREF_STRICT: 'ingest.strict',
};

/** Settings printed as `***` by `deepref config print`, and the password part of connection URLs. */
const secretKey = /password|secret|token|apikey|privatekey/i;

export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const defaults = defaultConfig() as unknown as Record<string, unknown>;
  const origins: Record<string, ConfigOrigin> = {};
  for (const key of leafPaths(defaults)) origins[key] = 'default';
  const merged = structuredClone(defaults);

  const env = options.env ?? process.env;
  const explicit = options.file ?? env.DEEPREF_CONFIG;
  const cwd = options.cwd ?? process.cwd();
  const file = explicit
    ? path.resolve(cwd, explicit)
    : configFileNames.map((name) => path.join(cwd, name)).find((candidate) => fs.existsSync(candidate));
  if (file) {
    if (!fs.existsSync(file)) throw invalid(`the config file ${file} does not exist`);
    const content = await readConfigFile(file);
    apply(merged, defaults, flatten(content), 'file', origins, path.basename(file));
  }

  const fromEnv: Record<string, unknown> = {};
  for (const [alias, key] of Object.entries(envAliases)) {
    const value = env[alias];
    if (value !== undefined && value !== '') fromEnv[key] = parseEnvValue(value, valueAt(defaults, key));
  }
  for (const key of leafPaths(defaults)) {
    const name = envName(key);
    const value = env[name];
    if (value !== undefined && value !== '') fromEnv[key] = parseEnvValue(value, valueAt(defaults, key));
  }
  apply(merged, defaults, fromEnv, 'env', origins, 'the environment');
  apply(merged, defaults, flatten(options.flags ?? {}), 'flag', origins, 'the command line');

  const config = merged as unknown as PlatformConfig;
  config.dataDir = path.resolve(cwd, origins.dataDir === 'default' ? 'data' : config.dataDir);
  if (origins['adapters.keys'] === 'default') config.adapters.keys = keysFollowing(config.adapters.meta);
  checkCombinations(config);
  return { config, ...(file ? { file } : {}), origins };
}

/** `ingest.maxRequestBytes` → `DEEPREF_INGEST_MAX_REQUEST_BYTES`. */
export function envName(key: string): string {
  return `DEEPREF_${key
    .split('.')
    .map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
    .join('_')}`;
}

/** The config as `deepref config print` shows it: secrets replaced by `***`, with each value's origin. */
export function printableConfig(
  loaded: LoadedConfig,
): Record<string, { value: unknown; from: ConfigOrigin }> {
  const out: Record<string, { value: unknown; from: ConfigOrigin }> = {};
  const flat = flatten(loaded.config as unknown as Record<string, unknown>);
  for (const [key, value] of Object.entries(flat)) {
    out[key] = { value: hideSecret(key, value), from: loaded.origins[key] ?? 'default' };
  }
  return out;
}

function hideSecret(key: string, value: unknown): unknown {
  if (typeof value !== 'string' || value === '') return value;
  if (secretKey.test(key.split('.').at(-1) ?? '')) return '***';
  // user:password@ in a URL or connection string.
  return value.replace(/(\/\/[^:/@\s]*:)[^@\s]+@/g, '$1***@');
}

async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  let content: unknown;
  try {
    if (file.endsWith('.json')) content = JSON.parse(fs.readFileSync(file, 'utf8'));
    else {
      const module = (await import(pathToFileURL(file).href)) as { default?: unknown };
      content = module.default;
    }
  } catch (error) {
    throw invalid(`cannot read ${file}: ${(error as Error).message}`);
  }
  if (content === null || typeof content !== 'object' || Array.isArray(content)) {
    throw invalid(`${file} must hold an object (a .ts file: export default { … })`);
  }
  return content as Record<string, unknown>;
}

function apply(
  target: Record<string, unknown>,
  defaults: Record<string, unknown>,
  values: Record<string, unknown>,
  origin: ConfigOrigin,
  origins: Record<string, ConfigOrigin>,
  where: string,
): void {
  const known = new Set(leafPaths(defaults));
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    if (!known.has(key)) {
      const hint = closest(key, [...known]);
      throw invalid(`unknown setting ${key} in ${where}${hint ? ` (did you mean ${hint}?)` : ''}`);
    }
    check(key, value, valueAt(defaults, key), where);
    setAt(target, key, value);
    origins[key] = origin;
  }
}

function check(key: string, value: unknown, fallback: unknown, where: string): void {
  const expected = typeof fallback;
  if (typeof value !== expected) {
    throw invalid(`${key} in ${where} must be a ${expected}, got ${JSON.stringify(value)}`);
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw invalid(`${key} in ${where} must be a finite number, got ${value}`);
  }
  const rule = rules[key];
  if (!rule) return;
  if ('oneOf' in rule) {
    if (!rule.oneOf.includes(value as string)) {
      throw invalid(
        `${key} in ${where} must be one of ${rule.oneOf.join(', ')}; got ${JSON.stringify(value)}`,
      );
    }
    return;
  }
  const n = value as number;
  if (rule.integer && !Number.isInteger(n))
    throw invalid(`${key} in ${where} must be a whole number, got ${n}`);
  if (rule.min !== undefined && n < rule.min)
    throw invalid(`${key} in ${where} must be at least ${rule.min}, got ${n}`);
  if (rule.max !== undefined && n > rule.max)
    throw invalid(`${key} in ${where} must be at most ${rule.max}, got ${n}`);
}

/** Settings that are each valid but not together. */
function checkCombinations(config: PlatformConfig): void {
  if (
    config.role !== 'all' &&
    (config.adapters.eventLog === 'sqlite' || config.adapters.warehouse === 'duckdb')
  ) {
    throw invalid(
      `role ${config.role} runs one part of the platform in this process, so the others must reach the same stores: ` +
        'set adapters.eventLog to jetstream and adapters.warehouse and adapters.meta to postgres (docs/deployment.md)',
    );
  }
  if (config.role !== 'all' && config.adapters.keys === 'local') {
    throw invalid(
      `role ${config.role} shares the subjects' data keys with the other processes, so they must be in PostgreSQL: ` +
        'set adapters.keys (or adapters.meta) to postgres (docs/deployment.md)',
    );
  }
}

function parseEnvValue(text: string, fallback: unknown): unknown {
  if (typeof fallback === 'number') return text.trim() === '' ? Number.NaN : Number(text);
  if (typeof fallback === 'boolean') {
    if (/^(1|true|yes|on)$/i.test(text)) return true;
    if (/^(0|false|no|off)$/i.test(text)) return false;
    return text;
  }
  return text;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function leafPaths(object: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(object).flatMap(([key, value]) =>
    isObject(value) ? leafPaths(value, `${prefix}${key}.`) : [`${prefix}${key}`],
  );
}

/** Nested objects to dotted keys; dotted keys pass through. */
function flatten(object: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    if (isObject(value)) Object.assign(out, flatten(value, `${prefix}${key}.`));
    else out[`${prefix}${key}`] = value;
  }
  return out;
}

function valueAt(object: Record<string, unknown>, key: string): unknown {
  return key.split('.').reduce<unknown>((node, part) => (isObject(node) ? node[part] : undefined), object);
}

function setAt(object: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = object;
  for (const part of parts.slice(0, -1)) node = node[part] as Record<string, unknown>;
  node[parts.at(-1)!] = value;
}

/** The known key nearest to a misspelt one (edit distance ≤ 3), for the error message. */
function closest(key: string, known: string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance <= 3 && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

function invalid(detail: string): DeeprefError {
  return new DeeprefError('DEEPREF_CONFIG_INVALID', { detail });
}
