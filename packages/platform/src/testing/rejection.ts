/** The DeeprefError a promise rejects with, for tests that check its code and message; throws for anything else. */
import { DeeprefError } from '../errors.ts';

export async function rejection(promise: Promise<unknown>): Promise<DeeprefError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof DeeprefError)) throw new Error(`expected a DeeprefError, got ${String(error)}`);
  return error;
}
