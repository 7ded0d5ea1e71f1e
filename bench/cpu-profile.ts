/**
 * Where a process spent its CPU, from a V8 `.cpuprofile` (what `node --cpu-prof` or the inspector's Profiler
 * writes): self and inclusive time per function (file:line), and self time per package or source file.
 *
 *   npx tsx bench/cpu-profile.ts FILE.cpuprofile [--top 25]
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Hotspot {
  name: string;
  /** Milliseconds, and share of the profile's duration. */
  ms: number;
  share: number;
}

export interface ProfileSummary {
  durationMs: number;
  /** Share of the main thread spent waiting for I/O (V8's `(idle)`): the headroom of the event loop. */
  idleShare: number;
  gcShare: number;
  selfByFunction: Hotspot[];
  inclusiveByFunction: Hotspot[];
  selfByModule: Hotspot[];
  /** Time by the stage `classify` gave each sample's stack, when given. */
  byStage: Hotspot[];
}

/** Names the part of the program a sample's stack (leaf first) belongs to. */
export type StackClassifier = (stack: CallFrame[]) => string;

const repoRoot = path.resolve(import.meta.dirname, '..');

/**
 * A frame's place in words: `fastify/lib/route.js:40`, `node:internal/…:12`, or for this repository's TypeScript
 * just the file (tsx runs transpiled code, so V8's line numbers are not the source's).
 */
function where(frame: CallFrame): string {
  let url = frame.url.replace(/^file:\/\//, '');
  if (url === '') return '';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) url = url.slice(modules + '/node_modules/'.length);
  else if (url.startsWith(repoRoot)) url = path.relative(repoRoot, url);
  return url.endsWith('.ts') ? url : `${url}:${frame.lineNumber + 1}`;
}

function functionKey(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  const at = where(frame);
  return at ? `${name} ${at}` : name;
}

/** A native frame (no script: a C++ binding or a builtin) is named with its nearest JavaScript caller. */
function selfKey(stack: CallFrame[]): string {
  const leaf = stack[0]!;
  if (leaf.url !== '' || leaf.functionName.startsWith('(')) return functionKey(leaf);
  const caller = stack.find((frame) => frame.url !== '');
  return `${leaf.functionName || '(native)'} ← ${caller ? functionKey(caller) : '?'}`;
}

/** The package (`fastify`, `better-sqlite3`), source file of this repository, or `node:` internals a frame is in. */
function moduleKey(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '');
  if (url === '') return frame.functionName.startsWith('(') ? frame.functionName : '(native code)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  return url.startsWith(repoRoot) ? path.relative(repoRoot, url) : url;
}

function top(totals: Map<string, number>, durationMs: number, count: number): Hotspot[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({ name, ms: us / 1000, share: us / 1000 / durationMs }));
}

export function summarizeProfile(
  profile: CpuProfile,
  count = 25,
  classify?: StackClassifier,
): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const modules = new Map<string, number>();
  const stages = new Map<string, number>();
  let idle = 0;
  let gc = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    const leaf = byId.get(profile.samples[i]!);
    if (!leaf) continue;
    const { functionName } = leaf.callFrame;
    if (functionName === '(idle)') idle += delta;
    if (functionName === '(garbage collector)') gc += delta;
    const stack: CallFrame[] = [];
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const node = byId.get(id)!;
      if (node.callFrame.functionName === '(root)') break;
      stack.push(node.callFrame);
    }
    if (stack.length === 0) continue;
    const leafKey = selfKey(stack);
    self.set(leafKey, (self.get(leafKey) ?? 0) + delta);
    const module = moduleKey(stack.find((frame) => frame.url !== '') ?? leaf.callFrame);
    modules.set(module, (modules.get(module) ?? 0) + delta);
    // Each function once per sample, however deep it recurses.
    for (const key of new Set(stack.map(functionKey))) inclusive.set(key, (inclusive.get(key) ?? 0) + delta);
    if (classify) {
      const stage = classify(stack);
      stages.set(stage, (stages.get(stage) ?? 0) + delta);
    }
  }
  const durationMs = (profile.endTime - profile.startTime) / 1000;
  return {
    durationMs,
    idleShare: idle / 1000 / durationMs,
    gcShare: gc / 1000 / durationMs,
    selfByFunction: top(self, durationMs, count),
    inclusiveByFunction: top(inclusive, durationMs, count),
    selfByModule: top(modules, durationMs, count),
    byStage: top(stages, durationMs, Number.POSITIVE_INFINITY),
  };
}

const percent = (share: number) => `${(share * 100).toFixed(1).padStart(5)}%`;

export function formatSummary(summary: ProfileSummary): string {
  const lines = [
    ...(summary.byStage.length
      ? ['time by stage', ...summary.byStage.map((h) => `  ${percent(h.share)}  ${h.name}`), '']
      : []),
    `main thread over ${(summary.durationMs / 1000).toFixed(1)} s: idle ${percent(summary.idleShare)}, ` +
      `garbage collection ${percent(summary.gcShare)}`,
    '',
    'self time by function',
    ...summary.selfByFunction.map((h) => `  ${percent(h.share)}  ${h.name}`),
    '',
    'self time by package or source file (native code counted in its JavaScript caller)',
    ...summary.selfByModule.map((h) => `  ${percent(h.share)}  ${h.name}`),
    '',
    'inclusive time by function (callees included)',
    ...summary.inclusiveByFunction.map((h) => `  ${percent(h.share)}  ${h.name}`),
  ];
  return lines.join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  const { values, positionals } = parseArgs({
    options: { top: { type: 'string', default: '25' } },
    allowPositionals: true,
  });
  for (const file of positionals) {
    const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
    console.log(`${file}\n${formatSummary(summarizeProfile(profile, Number(values.top)))}\n`);
  }
}
