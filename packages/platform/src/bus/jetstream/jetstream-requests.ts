/**
 * JetStream API requests (publishes, direct gets) sent without waiting for one another. Each is a plain publish with
 * a reply subject under one inbox subscription per connection, and the requests made in the same tick share one
 * timer. An append sends three requests per event, hundreds at once; the client's `request()` gives each its own
 * timer, subscription entry and promise chain, which cost more CPU than the server spends storing the event.
 */
import { type ApiError, JetStreamApiError, type PubAck } from '@nats-io/jetstream';
import { createInbox, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';

export interface PublishOptions {
  /** Nats-Msg-Id: JetStream stores a message with an id it saw within its duplicate window only once. */
  msgID?: string;
  /** Stored only if the subject's last message has this sequence (0: it has none); else rejected. */
  lastSubjectSequence?: number;
}

interface Waiting {
  resolve: (message: Msg) => void;
  reject: (error: Error) => void;
  tick: Tick;
}

/** The requests of one tick: numbers first … end − 1, with one timer for those still unanswered. */
interface Tick {
  first: number;
  end: number;
  open: number;
  timer: NodeJS.Timeout;
}

export class JetStreamRequests {
  private readonly nc: NatsConnection;
  private readonly timeoutMs: number;
  private readonly inbox = createInbox();
  private subscribed = false;
  private next = 0;
  private readonly waiting = new Map<number, Waiting>();
  private tick: Tick | undefined;

  constructor(nc: NatsConnection, timeoutMs: number) {
    this.nc = nc;
    this.timeoutMs = timeoutMs;
  }

  /** Publishes to a stream's subject; resolves with JetStream's acknowledgement, rejects with its refusal. */
  async publish(subject: string, data: string, options: PublishOptions = {}): Promise<PubAck> {
    let header: ReturnType<typeof headers> | undefined;
    if (options.msgID !== undefined || options.lastSubjectSequence !== undefined) {
      header = headers();
      if (options.msgID !== undefined) header.set('Nats-Msg-Id', options.msgID);
      if (options.lastSubjectSequence !== undefined)
        header.set('Nats-Expected-Last-Subject-Sequence', String(options.lastSubjectSequence));
    }
    const reply = await this.request(subject, data, header);
    const status = reply.headers?.code ?? 0;
    if (status !== 0) {
      throw new Error(
        `JetStream did not take a message on ${subject}: ${status} ${reply.headers?.description ?? ''}`,
      );
    }
    const answer = reply.json<PubAck & { error?: ApiError }>();
    if (answer.error) throw new JetStreamApiError(answer.error);
    return answer;
  }

  /** The last message of `subject` in `stream` (a direct get: any replica answers), or null when it has none. */
  async lastBySubject(stream: string, subject: string): Promise<Msg | null> {
    const reply = await this.request(
      `$JS.API.DIRECT.GET.${stream}`,
      JSON.stringify({ last_by_subj: subject }),
    );
    const status = reply.headers?.code ?? 0;
    if (status === 404) return null;
    if (status !== 0) {
      throw new Error(
        `JetStream did not answer a get from ${stream}: ${status} ${reply.headers?.description ?? ''}`,
      );
    }
    return reply;
  }

  private request(subject: string, data: string, header?: ReturnType<typeof headers>): Promise<Msg> {
    this.subscribe();
    const n = this.next++;
    const tick = this.currentTick(n);
    return new Promise<Msg>((resolve, reject) => {
      this.waiting.set(n, { resolve, reject, tick });
      try {
        this.nc.publish(subject, data, {
          reply: `${this.inbox}.${n}`,
          ...(header ? { headers: header } : {}),
        });
      } catch (error) {
        this.settle(n, tick);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  private subscribe(): void {
    if (this.subscribed) return;
    this.subscribed = true;
    const prefix = this.inbox.length + 1;
    this.nc.subscribe(`${this.inbox}.*`, {
      callback: (error, message) => {
        if (error) return;
        const n = Number(message.subject.slice(prefix));
        const waiting = this.waiting.get(n);
        if (!waiting) return; // answered after its timer expired
        this.settle(n, waiting.tick);
        waiting.resolve(message);
      },
    });
  }

  private currentTick(n: number): Tick {
    if (this.tick) {
      this.tick.end = n + 1;
      this.tick.open++;
      return this.tick;
    }
    const tick: Tick = {
      first: n,
      end: n + 1,
      open: 1,
      timer: setTimeout(() => this.expire(tick), this.timeoutMs),
    };
    this.tick = tick;
    queueMicrotask(() => {
      this.tick = undefined;
    });
    return tick;
  }

  private settle(n: number, tick: Tick): void {
    this.waiting.delete(n);
    if (--tick.open === 0) clearTimeout(tick.timer);
  }

  private expire(tick: Tick): void {
    const error = new Error(`JetStream did not answer within ${this.timeoutMs} ms.`);
    for (let n = tick.first; n < tick.end; n++) {
      const waiting = this.waiting.get(n);
      if (waiting) {
        this.waiting.delete(n);
        waiting.reject(error);
      }
    }
  }
}
