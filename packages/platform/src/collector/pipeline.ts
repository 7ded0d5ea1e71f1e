/**
 * The collector's stages after the wire format: enrich each valid event, keep each invalid one as a dead letter,
 * and append both to the event log in one durable write. Every item of a request gets its own result.
 */
import type { StoredEvent } from '@deepref/schema';
import type { DeadLetter, DeadLetterInput, EventLog } from '../bus/event-log.ts';
import type { IngestConfig } from '../config.ts';
import type { DeadLetterReason } from '../errors.ts';
import type { Metrics } from '../ops/metrics.ts';
import { anonymizeIp, createEnricher, type RequestFacts } from './enrich.ts';
import type { Source } from './sources.ts';
import {
  mapReferenceBody,
  mapSegmentBody,
  segmentCallOf,
  type WireContext,
  type WireResult,
} from './wire.ts';

export type EventResult =
  | { eventId: string; status: 'accepted' | 'duplicate' }
  /** Valid, but refused at the edge (e.g. no consent for the event's purposes): counted, never stored. */
  | { eventId: string; status: 'dropped'; reason: string; message: string }
  | { eventId?: string; status: 'rejected'; reason: DeadLetterReason; message: string };

export interface IngestContext {
  source: Source;
  receivedAt: Date;
  request: RequestFacts;
}

export type WireFormat = { kind: 'reference' } | { kind: 'segment'; path: string };

/** What an edge stage decides for one event: keep it (possibly rewritten) or drop it with a stable code. */
export type EdgeDecision = { event: StoredEvent } | { dropped: { code: string; message: string } };

/**
 * A stage between enrich and the log append (DESIGN.md: consent gate → PII policy): it sees each batch of
 * valid, enriched events and decides for each, in order. Stages run in the order given; a dropped event reaches
 * no later stage and no disk. A stage that throws fails the request (nothing of it is stored).
 */
export interface EdgeStage {
  readonly name: string;
  apply(events: readonly StoredEvent[], context: EdgeContext): Promise<EdgeDecision[]> | EdgeDecision[];
}

export interface EdgeContext {
  sourceId: string;
  receivedAt: Date;
  request: RequestFacts;
}

export interface IngestPipelineDeps {
  log: EventLog;
  config: IngestConfig;
  metrics: Metrics;
  ipHashKey?: Buffer;
  /** Run in order on the valid events before they are appended; none by default. */
  edgeStages?: readonly EdgeStage[];
  /**
   * Rewrites an invalid event's raw payload before it is stored (the PII stage masks what its recognizers find);
   * stored as it is when absent.
   */
  scrubDeadLetter?: (raw: string) => Promise<string>;
}

export interface ReplayResult {
  status: 'accepted' | 'duplicate' | 'rejected';
  detail?: string;
}

export interface IngestPipeline {
  /** Maps a parsed body of the given wire format to results; throws DeeprefError for a body that is no batch at all. */
  map(format: WireFormat, body: unknown, context: Pick<IngestContext, 'source' | 'receivedAt'>): WireResult[];
  /** Stores what `map` produced: resolves once the events and dead letters are durable. */
  store(items: WireResult[], context: IngestContext): Promise<EventResult[]>;
  /** Sends a dead letter's payload through the stages again; a second refusal is reported, not stored again. */
  replay(deadLetter: DeadLetter): Promise<ReplayResult>;
}

/** The events the edge stages kept, in order. */
function keptEvents(decisions: readonly EdgeDecision[]): StoredEvent[] {
  const events: StoredEvent[] = [];
  for (const decision of decisions) if ('event' in decision) events.push(decision.event);
  return events;
}

const uuidIn = /"(?:eventId|messageId)"\s*:\s*"([0-9a-fA-F-]{36})"/;

export function createIngestPipeline(deps: IngestPipelineDeps): IngestPipeline {
  const { log, config, metrics } = deps;
  const enrich = createEnricher({ ipPolicy: config.ipPolicy, ipHashKey: deps.ipHashKey });
  const keepIp = (ip: string) => anonymizeIp(ip, config.ipPolicy, deps.ipHashKey);
  const edgeStages = deps.edgeStages ?? [];

  /** Runs the edge stages; returns one decision per event, in order. */
  async function runEdge(events: StoredEvent[], context: EdgeContext): Promise<EdgeDecision[]> {
    // Plain loops: flatMap and forEach here cost an array or a closure per event and per stage.
    const decisions: EdgeDecision[] = new Array(events.length);
    for (let i = 0; i < events.length; i++) decisions[i] = { event: events[i]! };
    for (const stage of edgeStages) {
      const live: number[] = [];
      const input: StoredEvent[] = [];
      for (let i = 0; i < decisions.length; i++) {
        const decision = decisions[i]!;
        if ('event' in decision) {
          live.push(i);
          input.push(decision.event);
        }
      }
      if (live.length === 0) break;
      const output = await stage.apply(input, context);
      if (output.length !== input.length) {
        throw new Error(
          `edge stage ${stage.name} returned ${output.length} decisions for ${input.length} events`,
        );
      }
      for (let k = 0; k < live.length; k++) decisions[live[k]!] = output[k]!;
    }
    return decisions;
  }

  const wireContext = (sourceId: string, receivedAt: Date): WireContext => ({
    sourceId,
    receivedAt,
    limits: config,
    anonymizeIp: keepIp,
  });

  function map(format: WireFormat, body: unknown, context: Pick<IngestContext, 'source' | 'receivedAt'>) {
    const ctx = wireContext(context.source.id, context.receivedAt);
    if (format.kind === 'reference') return mapReferenceBody(body, ctx);
    const call = segmentCallOf(format.path) ?? 'batch';
    // A single call's type comes from its path; written into the item, its dead letter replays on its own.
    if (call !== 'batch' && body !== null && typeof body === 'object' && !Array.isArray(body)) {
      const item = body as Record<string, unknown>;
      if (item.type === undefined) item.type = call;
    }
    return mapSegmentBody(call, body, ctx);
  }

  async function store(items: WireResult[], context: IngestContext): Promise<EventResult[]> {
    const enriched: StoredEvent[] = [];
    const deadLetters: DeadLetterInput[] = [];
    const receivedAt = context.receivedAt.toISOString();
    // What every event of the request shares, given to enrich once rather than rebuilt per event.
    const facts = { sourceId: context.source.id, receivedAt: context.receivedAt, request: context.request };
    for (const item of items) {
      if (item.ok) {
        enriched.push(enrich(item.envelope, facts));
      } else {
        const eventId = uuidIn.exec(item.raw)?.[1]?.toLowerCase();
        const eventName = /"(?:eventName|event)"\s*:\s*"([^"\\]{1,200})"/.exec(item.raw)?.[1];
        deadLetters.push({
          reason: item.reason,
          message: item.message,
          raw: item.raw,
          sourceId: context.source.id,
          receivedAt,
          ...(eventId ? { eventId } : {}),
          ...(eventName ? { eventName } : {}),
        });
      }
    }
    const scrub = deps.scrubDeadLetter;
    if (scrub) {
      await Promise.all(
        deadLetters.map(async (deadLetter) => {
          deadLetter.raw = await scrub(deadLetter.raw);
        }),
      );
    }
    metrics.eventsReceived.inc(items.length);
    const edgeContext = {
      sourceId: context.source.id,
      receivedAt: context.receivedAt,
      request: context.request,
    };
    const decisions = edgeStages.length ? await runEdge(enriched, edgeContext) : undefined;
    const events = decisions ? keptEvents(decisions) : enriched;
    const outcomes = events.length || deadLetters.length ? await log.append({ events, deadLetters }) : [];

    const results: EventResult[] = [];
    let nextValid = 0;
    let nextEvent = 0;
    let nextDeadLetter = 0;
    let accepted = 0;
    let duplicates = 0;
    for (const item of items) {
      if (item.ok) {
        const decision = decisions?.[nextValid];
        const valid = enriched[nextValid++]!;
        if (decision && 'dropped' in decision) {
          metrics.eventsDropped.inc({ reason: decision.dropped.code });
          results.push({
            eventId: valid.eventId,
            status: 'dropped',
            reason: decision.dropped.code,
            message: decision.dropped.message,
          });
          continue;
        }
        const event = events[nextEvent]!;
        const outcome = outcomes[nextEvent++]!;
        if (outcome.status === 'accepted') accepted++;
        else duplicates++;
        results.push({ eventId: event.eventId, status: outcome.status });
      } else {
        const deadLetter = deadLetters[nextDeadLetter++]!;
        metrics.eventsRejected.inc({ reason: item.reason });
        metrics.deadLettered.inc({ reason: item.reason });
        results.push({
          ...(deadLetter.eventId ? { eventId: deadLetter.eventId } : {}),
          status: 'rejected',
          reason: item.reason,
          message: item.message,
        });
      }
    }
    metrics.eventsAccepted.inc(accepted);
    metrics.eventsDuplicate.inc(duplicates);
    return results;
  }

  async function replay(deadLetter: DeadLetter): Promise<ReplayResult> {
    let item: unknown;
    try {
      item = JSON.parse(deadLetter.raw);
    } catch {
      return {
        status: 'rejected',
        detail: 'the stored payload is not JSON (it was cut at the size limit or never parsed)',
      };
    }
    // The original receipt time: skew correction and event time must be what they would have been then.
    const receivedAt = new Date(deadLetter.receivedAt);
    const source = { id: deadLetter.sourceId, name: '', allowedOrigins: [], createdAt: '' };
    const looksSegment =
      item !== null && typeof item === 'object' && ('type' in item || 'messageId' in item || 'event' in item);
    const format: WireFormat = looksSegment ? { kind: 'segment', path: 'batch' } : { kind: 'reference' };
    let mapped: WireResult[];
    try {
      mapped = map(format, looksSegment ? { batch: [item] } : [item], { source, receivedAt });
    } catch (error) {
      return { status: 'rejected', detail: (error as Error).message };
    }
    const [result] = mapped;
    if (!result) return { status: 'rejected', detail: 'nothing to replay' };
    if (!result.ok) return { status: 'rejected', detail: `${result.reason}: ${result.message}` };
    const enriched = enrich(result.envelope, { sourceId: source.id, receivedAt, request: {} });
    const [decision] = edgeStages.length
      ? await runEdge([enriched], { sourceId: source.id, receivedAt, request: {} })
      : [{ event: enriched }];
    if (!decision || 'dropped' in decision) {
      if (decision) metrics.eventsDropped.inc({ reason: decision.dropped.code });
      return {
        status: 'rejected',
        detail: decision ? `${decision.dropped.code}: ${decision.dropped.message}` : 'dropped',
      };
    }
    const event = decision.event;
    const [outcome] = await log.append({ events: [event], deadLetters: [] });
    if (outcome?.status === 'accepted') metrics.eventsAccepted.inc();
    return { status: outcome?.status ?? 'rejected' };
  }

  return { map, store, replay };
}
