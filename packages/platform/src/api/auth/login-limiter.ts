/**
 * Slows password guessing: failed sign-ins are counted per username and per client address over a sliding
 * window; past the limit, sign-in is refused (without checking the password) until the oldest failure ages out.
 * In memory and bounded: past `maxTracked` names the oldest tracked ones are forgotten.
 */
import { DeeprefError } from '../../errors.ts';

export interface LoginLimits {
  perUsername: number;
  perAddress: number;
  windowMs: number;
  maxTracked: number;
}

export const defaultLoginLimits: LoginLimits = {
  perUsername: 5,
  perAddress: 20,
  windowMs: 15 * 60_000,
  maxTracked: 10_000,
};

export class LoginLimiter {
  /** Failure times (ms) per `user:NAME` or `addr:ADDRESS`, oldest first. */
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly now: () => Date,
    private readonly limits: LoginLimits = defaultLoginLimits,
  ) {}

  /** Throws DEEPREF_LOGIN_RATE_LIMITED (429, with Retry-After) when either counter is at its limit. */
  check(username: string, address: string): void {
    this.checkOne(`user:${username}`, this.limits.perUsername, 'username');
    this.checkOne(`addr:${address}`, this.limits.perAddress, 'client address');
  }

  recordFailure(username: string, address: string): void {
    const now = this.now().getTime();
    for (const key of [`user:${username}`, `addr:${address}`]) {
      const times = this.recent(key);
      times.push(now);
      this.failures.delete(key);
      this.failures.set(key, times);
    }
    for (const key of this.failures.keys()) {
      if (this.failures.size <= this.limits.maxTracked) break;
      this.failures.delete(key);
    }
  }

  /** A right password clears the username's failures (the address keeps its count). */
  recordSuccess(username: string): void {
    this.failures.delete(`user:${username}`);
  }

  private recent(key: string): number[] {
    const since = this.now().getTime() - this.limits.windowMs;
    return (this.failures.get(key) ?? []).filter((t) => t > since);
  }

  private checkOne(key: string, limit: number, what: string): void {
    const times = this.recent(key);
    if (times.length < limit) return;
    const oldest = times[times.length - limit] ?? 0;
    const retryAfter = Math.max(1, Math.ceil((oldest + this.limits.windowMs - this.now().getTime()) / 1000));
    throw new DeeprefError('DEEPREF_LOGIN_RATE_LIMITED', { what }, { retryAfter });
  }
}
