/** Creating the log's streams idempotently, from several processes at once, and telling a missing one apart. */
import {
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';

export function isStreamNotFound(error: unknown): boolean {
  return error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound;
}

/**
 * Creates the stream, or brings the `updatable` settings of an existing one to the given values; its other
 * settings are left as they are (the caller checks those it cannot change).
 */
export async function ensureStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
  updatable: (keyof StreamConfig)[],
): Promise<StreamInfo> {
  let info: StreamInfo;
  try {
    info = await jsm.streams.info(config.name);
  } catch (error) {
    if (!isStreamNotFound(error)) throw error;
    try {
      return await jsm.streams.add(config);
    } catch (addError) {
      // Another process created it in between: take theirs, as below.
      info = await jsm.streams.info(config.name).catch(() => Promise.reject(addError));
    }
  }
  const changed = updatable.filter((key) => config[key] !== undefined && info.config[key] !== config[key]);
  if (changed.length === 0) return info;
  const update = { ...info.config };
  for (const key of changed) Object.assign(update, { [key]: config[key] });
  return jsm.streams.update(config.name, update);
}
