/**
 * Everything the SDK reports, from one catalog: a stable code and a message that says what happened and what to
 * do. The client never throws these at the code that tracks; it hands them to `onError` (by default a process
 * warning), so telemetry cannot break the application.
 */
export const errorCatalog = {
  DEEPREF_NODE_INVALID_OPTIONS: 'Invalid client options: {detail}.',
  DEEPREF_NODE_NO_CLIENT:
    'An event ({eventName}) was tracked before any client existed, and dropped. Call `init({ writeKey, endpoint })` at start-up or pass `client` explicitly.',
  DEEPREF_NODE_CLIENT_CLOSED:
    'An event ({eventName}) was tracked after `shutdown()`, and dropped. Track before shutting the client down.',
  DEEPREF_NODE_EVENT_TOO_LARGE:
    'The event {eventName} is {bytes} bytes of JSON, over the limit of {limit}; it was dropped. Trim its properties.',
  DEEPREF_NODE_EVENT_UNSERIALIZABLE:
    'The event {eventName} could not be turned into JSON ({detail}); it was dropped. Pass plain data as properties.',
  DEEPREF_NODE_QUEUE_FULL:
    'The queue is full ({limit}); the oldest event was dropped ({dropped} so far). Raise `maxQueueEvents`, enable `spill`, or use `overflow: "block"`.',
  DEEPREF_NODE_EVENT_REJECTED:
    'The collector rejected event {eventId} ({eventName}) as invalid: {reason}. It is kept among the dead letters on the server and is not retried.',
  DEEPREF_NODE_REQUEST_REFUSED:
    'The collector refused a batch of {count} events with HTTP {status} ({detail}); they are counted as rejected and not retried.',
  DEEPREF_NODE_UNAUTHORIZED:
    'The collector refused the write key ({status}). Events stay queued and are retried; check `writeKey` (`deepref keys create --name NAME`).',
  DEEPREF_NODE_DELIVERY_RETRYING:
    'Delivery failed ({detail}); {pending} events are kept and retried with backoff.',
  DEEPREF_NODE_EVENT_EXPIRED:
    'An event older than `maxEventAgeMs` ({limit} ms) was dropped before it could be delivered ({expired} so far).',
  DEEPREF_NODE_SHUTDOWN_INCOMPLETE:
    '`shutdown()` ran out of time with {pending} events undelivered; {kept}. Give `shutdown({ timeoutMs })` longer or check the collector.',
  DEEPREF_NODE_SPILL_LOCKED:
    'The spill directory {directory} is in use by process {pid}. Give each process its own `spill.directory`.',
  DEEPREF_NODE_SPILL_FAILED:
    'Writing the spill file failed ({detail}); events are kept in memory only until it works again.',
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof errorCatalog;

export class DeeprefNodeError extends Error {
  readonly code: ErrorCode;

  constructor(
    code: ErrorCode,
    params: Record<string, string | number> = {},
    options: { cause?: unknown } = {},
  ) {
    const template: string = errorCatalog[code];
    super(
      template.replace(/\{(\w+)\}/g, (_, key: string) => String(params[key] ?? `{${key}}`)),
      { cause: options.cause },
    );
    this.name = 'DeeprefNodeError';
    this.code = code;
  }
}

/** The default `onError`: a process warning, which Node prints once per call and an app can listen to or silence. */
export function warn(error: DeeprefNodeError): void {
  process.emitWarning(error.message, { type: 'DeeprefWarning', code: error.code });
}
