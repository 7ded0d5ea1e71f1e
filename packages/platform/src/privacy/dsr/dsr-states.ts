/**
 * The life of a data subject request: received → identity_verified → approved → in_progress → completed | failed,
 * canceled from any state before it runs, and a failed one may run again. In a split deployment an approved (or
 * failed) request is `queued` first, and the worker that runs it takes it from there (dsr-runner.ts). Running is
 * reachable only through `identity_verified` and `approved`, so a request whose subject was never verified can
 * never run.
 */
import { DeeprefError } from '../../errors.ts';

export const dsrStates = [
  'received',
  'identity_verified',
  'approved',
  'queued',
  'in_progress',
  'completed',
  'failed',
  'canceled',
] as const;
export type DsrState = (typeof dsrStates)[number];

export const dsrActions = ['verify', 'approve', 'queue', 'start', 'complete', 'fail', 'cancel'] as const;
export type DsrAction = (typeof dsrActions)[number];

/** For each action, the states it may be taken from and the state it leads to. */
const transitions: Record<DsrAction, { from: readonly DsrState[]; to: DsrState }> = {
  verify: { from: ['received'], to: 'identity_verified' },
  approve: { from: ['identity_verified'], to: 'approved' },
  // A failed run may be retried: `failed` is reached only from `in_progress`, so it was verified and approved.
  queue: { from: ['approved', 'failed'], to: 'queued' },
  start: { from: ['approved', 'failed', 'queued'], to: 'in_progress' },
  complete: { from: ['in_progress'], to: 'completed' },
  fail: { from: ['in_progress'], to: 'failed' },
  cancel: { from: ['received', 'identity_verified', 'approved', 'queued', 'failed'], to: 'canceled' },
};

/** The state `action` leads to from `state`, or undefined when the action is not allowed there. */
export function nextState(state: DsrState, action: DsrAction): DsrState | undefined {
  const rule = transitions[action];
  return rule.from.includes(state) ? rule.to : undefined;
}

/** Like `nextState`, but refuses a disallowed action with `DEEPREF_DSR_INVALID_TRANSITION`. */
export function requireNextState(id: string, state: DsrState, action: DsrAction): DsrState {
  const next = nextState(state, action);
  if (next === undefined) {
    const allowed = dsrActions.filter((a) => nextState(state, a) !== undefined);
    throw new DeeprefError('DEEPREF_DSR_INVALID_TRANSITION', {
      id,
      action,
      state,
      allowed: allowed.length ? allowed.join(', ') : 'none (the request is finished)',
    });
  }
  return next;
}
