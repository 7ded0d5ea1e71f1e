/**
 * Every error a client or operator can see, from one catalog: a stable code, an HTTP status and a message that
 * says what was wrong and what to do. Codes never change meaning once released.
 */
export const errorCatalog = {
  DEEPREF_PAYLOAD_TOO_LARGE: {
    status: 413,
    message: 'The request body is larger than the limit of {limit} bytes. Send fewer events per request.',
  },
  DEEPREF_EVENT_TOO_LARGE: {
    status: 413,
    message: 'An event is larger than the limit of {limit} bytes. Trim its properties.',
  },
  DEEPREF_MALFORMED_JSON: { status: 400, message: 'The request body is not valid JSON: {detail}.' },
  DEEPREF_INVALID_BODY: {
    status: 400,
    message: 'The request body does not have the expected shape: {detail}.',
  },
  DEEPREF_BAD_ENCODING: { status: 400, message: 'The request body could not be decoded: {detail}.' },
  DEEPREF_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'Content type {contentType} is not supported. Send application/json or text/plain.',
  },
  DEEPREF_UNSUPPORTED_ENCODING: {
    status: 415,
    message: 'Content encoding {encoding} is not supported. Send identity or gzip.',
  },
  DEEPREF_MISSING_WRITE_KEY: {
    status: 401,
    message: 'No write key. Send it as the HTTP Basic user or as `writeKey` in the body.',
  },
  DEEPREF_UNKNOWN_WRITE_KEY: {
    status: 401,
    message: 'The write key is unknown or revoked. Create one with `deepref keys create --name NAME`.',
  },
  DEEPREF_ORIGIN_NOT_ALLOWED: { status: 403, message: 'Origin {origin} is not allowed for this write key.' },
  DEEPREF_OVERLOADED: {
    status: 503,
    message: 'The collector is at its buffer limit. Retry after {retryAfter} seconds.',
  },
  DEEPREF_RATE_LIMITED: { status: 429, message: 'Too many requests. Retry after {retryAfter} seconds.' },
  DEEPREF_SHUTTING_DOWN: {
    status: 503,
    message: 'The collector is shutting down. Retry after {retryAfter} seconds.',
  },
  DEEPREF_NOT_FOUND: { status: 404, message: '{what} was not found.' },
  DEEPREF_FORBIDDEN: { status: 403, message: '{detail}' },
  DEEPREF_UNAUTHORIZED: { status: 401, message: '{detail}' },
  DEEPREF_READ_ONLY_QUERY: {
    status: 400,
    message:
      'Only read-only statements (SELECT, WITH, DESCRIBE, SHOW, EXPLAIN, SUMMARIZE) are allowed: {detail}.',
  },
  DEEPREF_QUERY_FAILED: { status: 400, message: 'The query failed: {detail}.' },
  DEEPREF_BAD_REQUEST: { status: 400, message: '{detail}' },
  DEEPREF_REALTIME_STORE_FULL: {
    status: 503,
    message:
      'The in-memory real-time store holds its limit of {limit} unexpired keys. Give live keys a shorter ttlSeconds, ' +
      'raise maxKeys, or use the Redis real-time store.',
  },
  DEEPREF_SDK_NOT_BUILT: {
    status: 503,
    message:
      'The browser SDK is not built ({detail}). Run `npm run build -w @deepref/browser`, then reload the page.',
  },
  DEEPREF_CONFIG_INVALID: {
    status: 500,
    message: 'The configuration is not valid: {detail}. See `deepref config print` and docs/deployment.md.',
  },
  DEEPREF_INTERNAL: {
    status: 500,
    message:
      'An internal error occurred; the request had no effect. Retry, and see the server log for {requestId}.',
  },

  // ---- privacy: keys, field encryption and pseudonyms (src/privacy/) ----
  DEEPREF_SUBJECT_ERASED: {
    status: 410,
    message:
      'The value can no longer be decrypted: its subject was erased and the data key destroyed. Treat it as deleted.',
  },
  DEEPREF_DECRYPT_FAILED: {
    status: 422,
    message:
      'An encrypted value could not be decrypted: {detail}. It was altered, or it belongs to another subject or field.',
  },
  DEEPREF_MASTER_KEY_INSECURE: {
    status: 500,
    message:
      'The master key file {file} has mode {mode}; only its owner may read it. Run `chmod 600 {file}`, and ' +
      'rotate the master key if anyone else could have read it.',
  },
  DEEPREF_MASTER_KEY_DAMAGED: {
    status: 500,
    message:
      'The master key file {file} is damaged: {detail}. Restore it from a backup; without it no encrypted value ' +
      'can be read.',
  },
  DEEPREF_MASTER_KEY_MISMATCH: {
    status: 500,
    message:
      'The master key file {file} does not belong to the key database {database}: {detail}. Restore the master ' +
      'key file that was used with this database (processes sharing a PostgreSQL key store share one file).',
  },
  DEEPREF_LOCAL_KEYS_NOT_MOVED: {
    status: 500,
    message:
      'The data keys in {file} cannot move to the shared key store {store}: {detail}. Values encrypted under them ' +
      'would no longer decrypt. Set adapters.keys to local to keep using them in this process (a single `all` ' +
      'process only), or remove the file if those values may be lost.',
  },
  DEEPREF_INVALID_PSEUDONYM_INPUT: { status: 400, message: 'Cannot pseudonymize this {kind}: {detail}.' },

  // ---- privacy: anonymization (src/privacy/anonymize/) ----
  DEEPREF_K_ANONYMITY_UNREACHABLE: {
    status: 422,
    message:
      'No generalization reaches k={k} on {rows} rows within the suppression limit of {maxSuppression}. ' +
      'Lower k, allow more suppression, or release more rows.',
  },
  DEEPREF_PRIVACY_BUDGET_EXCEEDED: {
    status: 403,
    message:
      'The query would spend ε={epsilon} on dataset {dataset}, which has {remaining} of its budget of {budget} left. ' +
      'Nothing was spent. Ask for a smaller ε or a new budget period.',
  },

  // ---- privacy: consent (src/privacy/consent/) ----
  DEEPREF_CONSENT_WITHHELD: {
    status: 403,
    message:
      'Not stored: the event needs {purposes}, which {detail}. It was counted in deepref_events_dropped_total, ' +
      'and nothing of it was kept.',
  },
  DEEPREF_CONSENT_NO_SUBJECT: {
    status: 400,
    message: 'A consent change needs the subject: send `userId` or `anonymousId` (or both, to link them).',
  },
  DEEPREF_CONSENT_UNKNOWN_POLICY: {
    status: 400,
    message:
      'Consent policy version {version} is not published. Publish it first (POST /api/v1/consent-policies) or ' +
      'leave `policyVersion` out to use the current one ({current}).',
  },
  DEEPREF_CONSENT_POLICY_EXISTS: {
    status: 409,
    message:
      'Consent policy version {version} is already published, and a published text never changes. Publish the ' +
      'new text under a new version.',
  },

  // ---- auth and the analytics API (src/api/auth/, src/api/analytics-routes.ts) ----
  DEEPREF_NOT_SIGNED_IN: {
    status: 401,
    message:
      'Reading data needs a reader: sign in (POST /api/v1/auth/login) or send a read API key as ' +
      '`Authorization: Bearer drk_read_…` (make one with `deepref apikeys create --name NAME`).',
  },
  DEEPREF_SESSION_EXPIRED: {
    status: 401,
    message: 'The session has ended ({reason}). Sign in again with POST /api/v1/auth/login.',
  },
  DEEPREF_UNKNOWN_API_KEY: {
    status: 401,
    message: 'The API key is unknown or revoked. Make a new one with `deepref apikeys create --name NAME`.',
  },
  DEEPREF_WRITE_KEY_CANNOT_READ: {
    status: 403,
    message:
      'A write key (drk_…) can only send events, never read them. Read with a session or a read API key ' +
      '(drk_read_…, from `deepref apikeys create --name NAME`).',
  },
  DEEPREF_LOGIN_FAILED: { status: 401, message: 'The username or the password is wrong.' },
  DEEPREF_LOGIN_RATE_LIMITED: {
    status: 429,
    message: 'Too many failed sign-ins for this {what}. Retry after {retryAfter} seconds.',
  },
  DEEPREF_WEAK_PASSWORD: {
    status: 400,
    message: 'The new password must be {min} to {max} characters long.',
  },
  DEEPREF_INVALID_QUERY: { status: 400, message: 'The request has a bad parameter: {detail}.' },
  DEEPREF_BAD_DATE_RANGE: { status: 400, message: 'The date range is not usable: {detail}.' },
  DEEPREF_UNKNOWN_EVENT: {
    status: 400,
    message:
      'The event "{event}" is not in the registered taxonomy, and the platform runs in strict mode. ' +
      'Pick a name from GET /api/v1/analytics/events.',
  },

  // ---- privacy: data subject requests, exports and backups (src/privacy/dsr/, src/exports/, src/ops/backup.ts) ----
  DEEPREF_DSR_INVALID_TRANSITION: {
    status: 409,
    message:
      'Request {id} is {state}: it cannot {action}. Allowed now: {allowed}. A request runs only once its ' +
      "subject's identity is verified and it is approved.",
  },
  DEEPREF_DSR_ERASURE_INCOMPLETE: {
    status: 500,
    message:
      'The erasure ran, but re-querying found the subject still in {stores}. The request is failed with its proof ' +
      'report; fix the cause and run it again (`deepref dsr run ID`).',
  },
  DEEPREF_DSR_RUNNER_LOST: {
    status: 500,
    message:
      'The worker that was running request {id} ({runner}) stopped before it finished, so nothing is recorded as ' +
      'done. Run it again (`deepref dsr run ID`): an erasure that runs again removes what is left.',
  },
  DEEPREF_LAKE_RETENTION_NOT_TAKEN: {
    status: 503,
    message:
      'The lake part of retention queued at {queuedAt} was not taken before the next one was queued: no worker ' +
      'held the singleton lease, so the lake kept data past its retention. Start a worker (`deepref start --role ' +
      'worker`); it runs the newest queued part.',
  },
  DEEPREF_LAKE_RETENTION_LOST: {
    status: 500,
    message:
      'The worker that was running the lake part of retention ({runner}) stopped before it finished. The next ' +
      'retention run queues it again (`deepref jobs run retention`).',
  },
  DEEPREF_DSR_CLAIM_LOST: {
    status: 409,
    message:
      'Request {id} was taken over by {holder} while {runner} was running it; the outcome of the run that lost it ' +
      'is not recorded. See the request for the outcome of the run that holds it.',
  },
  DEEPREF_DSR_STORES_BEHIND: {
    status: 503,
    message:
      'The warehouse has loaded the log up to offset {loaded}, not yet to {head}, so the request did not run: a ' +
      "partition's loader is behind or its worker stopped (its lease moves after the lease time). Run it again.",
  },
  DEEPREF_EXPORT_LINK_INVALID: {
    status: 403,
    message:
      'The download link is not valid ({detail}). Use the link exactly as issued, or ask for a new export.',
  },
  DEEPREF_EXPORT_LINK_EXPIRED: {
    status: 410,
    message: 'The download link expired at {expiresAt}. Ask for a new export.',
  },
  DEEPREF_EXPORT_GONE: {
    status: 410,
    message: 'Export {id} no longer exists (it expired or its subject was erased). Ask for a new export.',
  },
  DEEPREF_BACKUP_TARGET_NOT_EMPTY: {
    status: 409,
    message: 'The backup folder {dir} is not empty. Give a new or empty folder, so no old file mixes in.',
  },

  // ---- event log on NATS JetStream (src/bus/jetstream/) ----
  DEEPREF_EVENT_LOG_UNAVAILABLE: {
    status: 503,
    message:
      'The event log on NATS JetStream ({servers}) is not available: {detail}. Retry after {retryAfter} seconds; ' +
      'whatever it acknowledged is kept, and a retried event is stored once.',
  },
  DEEPREF_EVENT_LOG_MISMATCH: {
    status: 500,
    message:
      'The JetStream stream {stream} does not match this configuration: {detail}. A stream keeps its subjects and ' +
      'partition count for life: configure them as the stream has them, or name a new stream.',
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalog;

export class DeeprefError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  /** Seconds a client should wait before retrying (429/503). */
  readonly retryAfter: number | undefined;

  constructor(
    code: ErrorCode,
    params: Record<string, string | number> = {},
    options: { retryAfter?: number; cause?: unknown } = {},
  ) {
    const template: string = errorCatalog[code].message;
    const values = { ...params, retryAfter: options.retryAfter ?? params.retryAfter ?? '' };
    super(
      template.replace(/\{(\w+)\}/g, (_, key: string) =>
        String(values[key as keyof typeof values] ?? `{${key}}`),
      ),
      {
        cause: options.cause,
      },
    );
    this.name = 'DeeprefError';
    this.code = code;
    this.statusCode = errorCatalog[code].status;
    this.retryAfter = options.retryAfter;
  }

  toJSON(): { error: { code: ErrorCode; message: string; retryAfter?: number } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.retryAfter ? { retryAfter: this.retryAfter } : {}),
      },
    };
  }
}

/** Why an event went to the dead letters instead of the log. */
export const deadLetterReasons = [
  'schema_violation',
  'size_violation',
  'payload_format',
  'missing_identity',
  'unknown_event',
] as const;
export type DeadLetterReason = (typeof deadLetterReasons)[number];
