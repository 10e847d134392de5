import { describe, expect, it } from 'vitest';
import type { RestartPolicy } from '../plan/types.js';
import { conflictRetryDelay, CONFLICT_RETRY_MAX_MS, nextRestartDelay } from './backoff.js';

const policy: RestartPolicy = { policy: 'always', initialMs: 100, maxMs: 30_000, factor: 2, jitter: 0.2, resetAfterMs: 60_000 };

describe('nextRestartDelay', () => {
  it.each([
    [1, 0.5, 0],
    [2, 0.5, 100],
    [3, 0.5, 200],
    [4, 0.5, 400],
    [10, 0.5, 25_600],
    [11, 0.5, 30_000],
    [50, 0.5, 30_000],
  ])('failure %d in a row (jitter at its middle) waits %d ms', (streak, random, expected) => {
    expect(nextRestartDelay(streak, policy, random)).toBe(expected);
  });

  it('spreads by the jitter fraction and never past the cap', () => {
    expect(nextRestartDelay(3, policy, 0)).toBe(160);
    expect(nextRestartDelay(3, policy, 0.999_999)).toBe(240);
    expect(nextRestartDelay(20, policy, 0.999_999)).toBe(30_000);
  });

  it('restarts the first failure after a stable run at once', () => {
    expect(nextRestartDelay(1, { ...policy, initialMs: 5000 }, 0.9)).toBe(0);
  });
});

describe('conflictRetryDelay', () => {
  it('retries an exit 78 slowly, growing to a cap', () => {
    expect(conflictRetryDelay(1, 0.5)).toBe(15_000);
    expect(conflictRetryDelay(2, 0.5)).toBe(30_000);
    expect(conflictRetryDelay(30, 0.5)).toBe(CONFLICT_RETRY_MAX_MS);
  });
});
