import { expect, it } from 'vitest';
import { describeEachWarehouse, useWarehouse } from '../testing/warehouses.ts';
import { aiMetrics } from './ai-metrics.ts';
import { type CraftedEvent, craftedRecords } from './test-records.ts';

const gpt = 'gpt-4o';
const claude = 'claude-sonnet-4';
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const prompt = (at: string, p: number, model: string): CraftedEvent => ({
  event: 'prompt_submission',
  at,
  person: 'u',
  properties: { prompt_id: id(p), model_used: model, prompt_length: 20 },
});
const response = (at: string, r: number, model: string, success: boolean, ms: number, tokens: number) => ({
  event: 'response_received',
  at,
  person: 'u',
  properties: {
    prompt_id: id(r),
    response_id: id(100 + r),
    model_used: model,
    success,
    generation_time_ms: ms,
    prompt_tokens: 10,
    completion_tokens: tokens,
  },
});
const react = (at: string, event: string, r: number, extra: Record<string, unknown> = {}): CraftedEvent => ({
  event,
  at,
  person: 'u',
  properties: { response_id: id(100 + r), ...extra },
});

const events: CraftedEvent[] = [
  prompt('2026-11-02T09:00:00Z', 1, gpt),
  response('2026-11-02T09:00:01Z', 1, gpt, true, 1000, 50),
  prompt('2026-11-02T10:00:00Z', 2, gpt),
  response('2026-11-02T10:00:02Z', 2, gpt, true, 2000, 150),
  prompt('2026-11-03T09:00:00Z', 3, gpt),
  response('2026-11-03T09:00:03Z', 3, gpt, false, 3000, 0),
  react('2026-11-02T09:01:00Z', 'response_regenerated', 1, { prompt_id: id(1), attempt: 2 }),
  response('2026-11-02T09:01:01Z', 4, gpt, true, 1000, 100), // the regenerated answer
  react('2026-11-02T10:05:00Z', 'response_edited', 2),
  react('2026-11-02T10:06:00Z', 'response_edited', 2), // the same answer edited again
  react('2026-11-02T09:02:00Z', 'ai_feedback', 1, { rating: 2 }),
  react('2026-11-02T10:07:00Z', 'ai_feedback', 2, { rating: 5 }),
  react('2026-11-02T10:08:00Z', 'ai_feedback', 2, { flag_inappropriate: true }), // no rating
  react('2026-11-05T09:00:00Z', 'ai_feedback', 4, { rating: 4 }), // after the range: still counts
  prompt('2026-11-03T12:00:00Z', 5, claude),
  response('2026-11-03T12:00:01Z', 5, claude, true, 500, 100),
  prompt('2026-11-04T00:00:00Z', 6, gpt), // `to`: outside
  response('2026-11-04T00:00:01Z', 6, gpt, true, 9000, 1),
  react('2026-11-04T00:01:00Z', 'ai_feedback', 6, { rating: 1 }), // its answer is outside
  // A web vital's rating is text ('good'); it must never reach the numeric cast of feedback ratings.
  {
    event: 'web_vital',
    at: '2026-11-02T09:03:00Z',
    person: 'u',
    properties: { name: 'LCP', value: 1200, rating: 'good', response_id: id(101) },
  },
];

describeEachWarehouse('AI metrics', (engine) => {
  const db = useWarehouse(engine, craftedRecords(events));

  it('gives prompts per day and per model quality and speed', async () => {
    const result = await aiMetrics(
      db.warehouse,
      { from: '2026-11-02T00:00:00Z', to: '2026-11-04T00:00:00Z' },
      db.dialect,
    );
    expect(result.promptsPerDay).toEqual([
      { day: '2026-11-02T00:00:00.000Z', prompts: 2, byModel: { [gpt]: 2 } },
      { day: '2026-11-03T00:00:00.000Z', prompts: 2, byModel: { [gpt]: 1, [claude]: 1 } },
    ]);
    const [g, c] = result.models;
    // gpt-4o answers r1 r2 r3 r4: 3 succeeded; 1000 2000 3000 1000 ms → avg 1750,
    // p95 at rank 3 · 0.95 = 2.85 of 1000 1000 2000 3000 → 2850; tokens 50 + 150 + 0 + 100 = 300 in 7 s.
    expect(g).toMatchObject({
      model: gpt,
      prompts: 3,
      responses: 4,
      successRate: 3 / 4,
      avgLatencyMs: 1750,
      regenerationRate: 1 / 4, // r1 regenerated
      editRate: 1 / 4, // r2, edited twice
      ratings: 3, // 2 (r1), 5 (r2), 4 (r4); the flag has no rating
      avgRating: 11 / 3,
      ratingCounts: [0, 1, 0, 1, 1],
    });
    expect(g!.p95LatencyMs).toBeCloseTo(2850, 9);
    expect(g!.tokensPerSecond).toBeCloseTo(300 / 7, 9);
    expect(c).toEqual({
      model: claude,
      prompts: 1,
      responses: 1,
      successRate: 1,
      avgLatencyMs: 500,
      p95LatencyMs: 500,
      tokensPerSecond: 200,
      regenerationRate: 0,
      editRate: 0,
      ratings: 0,
      avgRating: null,
      ratingCounts: [0, 0, 0, 0, 0],
    });
  });
});
