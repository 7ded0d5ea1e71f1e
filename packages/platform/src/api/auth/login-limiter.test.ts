import { describe, expect, it } from 'vitest';
import { LoginLimiter } from './login-limiter.ts';

describe('LoginLimiter', () => {
  const limits = { perUsername: 2, perAddress: 3, windowMs: 60_000, maxTracked: 4 };

  it('limits one client address across usernames, and frees it as failures age out', () => {
    let time = 0;
    const limiter = new LoginLimiter(() => new Date(time), limits);
    limiter.recordFailure('a', '10.0.0.1');
    time = 10_000;
    limiter.recordFailure('b', '10.0.0.1');
    limiter.recordFailure('c', '10.0.0.1');
    expect(() => limiter.check('d', '10.0.0.1')).toThrow(
      'Too many failed sign-ins for this client address. Retry after 50 seconds.',
    );
    expect(() => limiter.check('d', '10.0.0.2')).not.toThrow();
    time = 60_000; // the first failure is out of the window
    expect(() => limiter.check('d', '10.0.0.1')).not.toThrow();
  });

  it('clears a username on success and forgets the oldest names past its bound', () => {
    const limiter = new LoginLimiter(() => new Date(0), limits);
    limiter.recordFailure('a', 'x');
    limiter.recordFailure('a', 'y');
    expect(() => limiter.check('a', 'z')).toThrow('this username');
    limiter.recordSuccess('a');
    expect(() => limiter.check('a', 'z')).not.toThrow();
    limiter.recordFailure('b', 'p');
    limiter.recordFailure('b', 'q');
    limiter.recordFailure('c', 'r');
    limiter.recordFailure('c', 's'); // 'b' is now the oldest of more than 4 tracked names
    expect(() => limiter.check('b', 'new')).not.toThrow();
    expect(() => limiter.check('c', 'new')).toThrow('this username');
  });
});
