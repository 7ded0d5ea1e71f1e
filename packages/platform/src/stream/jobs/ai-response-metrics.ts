/**
 * AI response metrics (§1.1, §6.5) from `response_received`: per model per minute, responses, success rate,
 * generation latency (avg, p95), time to first token, token counts and output tokens per second of generation.
 */
import type { StoredEvent } from '@deepref/schema';
import { avg, count, percentile, sum } from '../aggregates.ts';
import { defineStreamJob } from '../stream-job.ts';
import { minutes, tumblingWindow } from '../windows.ts';
import { numberProperty, stringProperty } from './event-fields.ts';

const generationMs = (e: StoredEvent) => numberProperty(e, 'generation_time_ms');

export const aiResponseMetricsJob = defineStreamJob<StoredEvent>({
  name: 'ai_response_metrics',
  description: 'Per model per minute: responses, success rate, latency, tokens, tokens per second',
  where: (e) => e.eventName === 'response_received',
  groupBy: { model: (e) => stringProperty(e, 'model_used') },
  window: tumblingWindow(minutes(1)),
  aggregates: {
    responses: count(),
    successRate: avg((e) => {
      const success = (e.properties as Record<string, unknown>).success;
      return typeof success === 'boolean' ? (success ? 1 : 0) : undefined;
    }),
    avgGenerationMs: avg(generationMs),
    p95GenerationMs: percentile(generationMs, 0.95),
    avgTimeToFirstTokenMs: avg((e) => numberProperty(e, 'time_to_first_token_ms')),
    promptTokens: sum((e) => numberProperty(e, 'prompt_tokens')),
    completionTokens: sum((e) => numberProperty(e, 'completion_tokens')),
    generationMsTotal: sum(generationMs),
  },
  derive: (values) => {
    const tokens = values.completionTokens as number | null;
    const ms = values.generationMsTotal as number | null;
    return { tokensPerSecond: tokens !== null && ms ? tokens / (ms / 1000) : null };
  },
  sinks: ['realtime', 'warehouse'],
});
