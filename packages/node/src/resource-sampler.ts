/**
 * A periodic `resource_usage` event (§1.1 server_side): CPU of the process as a share of all the host's cores,
 * resident memory, heap, event-loop lag, and the most requests in progress at once since the last sample.
 */
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { EventProperties } from '@deepref/schema';
import type { DeeprefClient } from './client.ts';
import { resolveClient } from './default-client.ts';

/** Requests in progress, and the most at once since the sampler last looked. */
export class ConcurrentRequests {
  current = 0;
  private peak = 0;

  enter(): void {
    this.current++;
    if (this.current > this.peak) this.peak = this.current;
  }

  leave(): void {
    this.current--;
  }

  /** The peak since the last call; the next interval starts from the requests in progress now. */
  takePeak(): number {
    const peak = this.peak;
    this.peak = this.current;
    return peak;
  }
}

export interface ResourceSamplerOptions {
  /** Default: the client of `init()`. */
  client?: DeeprefClient;
  /** Default 10 000; 0 takes no samples on its own (call `sample()`). */
  intervalMs?: number;
  /** Recorded as `service`. */
  service?: string;
  /** Recorded as `instance`. Default `<hostname>:<pid>`. */
  instance?: string;
  /** The requests to count; the Fastify plugin and the Express middleware pass theirs. */
  requests?: ConcurrentRequests;
}

export type ResourceUsage = EventProperties<'resource_usage'>;

export class ResourceSampler {
  readonly requests: ConcurrentRequests;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 20 });
  private lastCpu = process.cpuUsage();
  private lastTime = process.hrtime.bigint();
  private readonly cores = os.availableParallelism();

  constructor(private readonly options: ResourceSamplerOptions = {}) {
    this.requests = options.requests ?? new ConcurrentRequests();
    this.loopDelay.enable();
    const intervalMs = options.intervalMs ?? 10_000;
    if (intervalMs > 0) {
      this.timer = setInterval(() => this.sample(), intervalMs);
      this.timer.unref();
    }
  }

  /** Measures since the previous sample (or the start) and records a `resource_usage` event; returns it. */
  sample(): ResourceUsage {
    const now = process.hrtime.bigint();
    const cpu = process.cpuUsage(this.lastCpu);
    const elapsedMicros = Number(now - this.lastTime) / 1000;
    this.lastCpu = process.cpuUsage();
    this.lastTime = now;
    const cpuPercent = elapsedMicros > 0 ? ((cpu.user + cpu.system) / elapsedMicros / this.cores) * 100 : 0;
    const memory = process.memoryUsage();
    const lagMs = this.loopDelay.mean / 1e6;
    this.loopDelay.reset();

    const usage: ResourceUsage = {
      cpu_percent: round(Math.min(100, Math.max(0, cpuPercent))),
      memory_mb: round(memory.rss / 1024 / 1024),
      heap_used_mb: round(memory.heapUsed / 1024 / 1024),
      concurrent_requests: this.requests.takePeak(),
      instance: this.options.instance ?? `${os.hostname()}:${process.pid}`,
    };
    if (Number.isFinite(lagMs)) usage.event_loop_lag_ms = round(lagMs);
    if (this.options.service !== undefined) usage.service = this.options.service;
    void resolveClient(this.options.client, 'resource_usage')?.track('resource_usage', usage);
    return usage;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.loopDelay.disable();
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
