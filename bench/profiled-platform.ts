/**
 * `deepref start` with a CPU profiler that the ingest benchmark switches on and off, so that a profile covers one
 * measured step rather than startup and shutdown. In the folder DEEPREF_BENCH_PROFILE_DIR: SIGUSR2 starts sampling
 * and writes `started-<n>`; the next SIGUSR2 writes `profile-<n>.cpuprofile` (n = 1, 2, …) and `loop-<n>.json`, the
 * event loop's delay over the same window (how long a ready callback waited: the stalls clients feel as latency).
 *
 *   DEEPREF_BENCH_PROFILE_DIR=DIR node --import tsx bench/profiled-platform.ts start --data-dir DATA --port 0
 */
import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

const folder = process.env.DEEPREF_BENCH_PROFILE_DIR;
if (!folder) throw new Error('Set DEEPREF_BENCH_PROFILE_DIR to the folder for the profiles.');
const session = new inspector.Session();
session.connect();

function post<T = unknown>(method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => {
    session.post(method, params ?? {}, (error, result) => (error ? reject(error) : resolve(result as T)));
  });
}

let profiling = false;
let count = 0;
let loopDelay: IntervalHistogram | undefined;
process.on('SIGUSR2', () => {
  const toggle = async () => {
    if (!profiling) {
      profiling = true;
      count++;
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: 500 });
      await post('Profiler.start');
      loopDelay = monitorEventLoopDelay({ resolution: 10 });
      loopDelay.enable();
      fs.writeFileSync(path.join(folder, `started-${count}`), String(Date.now()));
      return;
    }
    profiling = false;
    const { profile } = await post<{ profile: unknown }>('Profiler.stop');
    loopDelay?.disable();
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    const delay = loopDelay && {
      p50: ms(loopDelay.percentile(50)),
      p99: ms(loopDelay.percentile(99)),
      max: ms(loopDelay.max),
      mean: ms(loopDelay.mean),
    };
    fs.writeFileSync(path.join(folder, `loop-${count}.json`), JSON.stringify(delay));
    const output = path.join(folder, `profile-${count}.cpuprofile`);
    fs.writeFileSync(`${output}.partial`, JSON.stringify(profile));
    fs.renameSync(`${output}.partial`, output);
  };
  toggle().catch((error) => console.error('bench profiler:', error));
});

await import('../packages/platform/src/cli/main.ts');
