/**
 * Erasing a subject from the real-time store, as the stream jobs fill it: the rows keyed by one of its ids (alone or
 * with a session) go and its keys leave each job's index; every other row and index member stays with its score.
 */
import { describe, expect, it } from 'vitest';
import { RealtimeResultSink } from '../sinks/realtime-sink.ts';
import { MemoryRealtimeStore } from './memory/memory-realtime-store.ts';
import { eraseSubjectFromRealtime, findSubjectInRealtime } from './realtime-subject-erasure.ts';

const end = Date.now();
const row = (job: string, key: string, group: Record<string, string>) => ({
  job,
  key,
  windowStart: end - 60_000,
  windowEnd: end,
  group,
  values: { eventCount: 1 },
});

describe('real-time subject erasure', () => {
  it('deletes the subject’s rows and index members and keeps the others', async () => {
    const store = new MemoryRealtimeStore();
    await new RealtimeResultSink(store).write([
      row('session_metrics', 'user-x\u001fs1', { userId: 'user-x', sessionId: 's1' }),
      row('session_metrics', 'anon-x\u001fs0', { userId: 'anon-x', sessionId: 's0' }),
      row('session_metrics', 'user-y\u001fs2', { userId: 'user-y', sessionId: 's2' }),
      row('user_engagement', 'user-x', { userId: 'user-x' }),
      row('user_engagement', 'user-y', { userId: 'user-y' }),
    ]);
    const jobs = ['session_metrics', 'user_engagement', 'active_users'];
    const found = await findSubjectInRealtime(store, jobs, ['user-x', 'anon-x']);
    expect(found.map((r) => `${r.job} ${r.key}`)).toEqual([
      'session_metrics anon-x\u001fs0',
      'session_metrics user-x\u001fs1',
      'user_engagement user-x',
    ]);

    expect(await eraseSubjectFromRealtime(store, jobs, ['user-x', 'anon-x'])).toBe(3);

    expect(await findSubjectInRealtime(store, jobs, ['user-x', 'anon-x'])).toEqual([]);
    expect(await store.hgetall('stream:user_engagement:user-x')).toEqual({});
    expect(await store.zrangeByScore('stream:session_metrics:keys', end, end)).toEqual(['user-y\u001fs2']);
    expect(await store.zrangeByScore('stream:user_engagement:keys', end, end)).toEqual(['user-y']);
    expect((await store.hgetall('stream:user_engagement:user-y')).values).toBe('{"eventCount":1}');
    await store.close();
  });
});
