/** When to try again after a failure: at once after a healthy run, then exponential with jitter, to a cap. */
import type { RestartPolicy } from '../plan/types.js';

/** Exit 78 is OpenClaw's "another instance owns this state/port" or "bad config": retrying fast cannot help. */
export const CONFLICT_RETRY_MIN_MS = 15_000;
export const CONFLICT_RETRY_MAX_MS = 300_000;

/** Consecutive failures from which a gateway is shown as `crashloop` rather than `backoff`. */
export const CRASHLOOP_STREAK = 5;

/**
 * Delay before restart number `streak` of a failure run (1 = the first failure after a stable run).
 * The first is immediate: a gateway that was fine and crashed once should be back as fast as it boots.
 * `random` is a value in [0, 1) so tests can pin the jitter.
 */
export function nextRestartDelay(streak: number, policy: RestartPolicy, random: number): number {
  if (streak <= 1) return 0;
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** (streak - 2));
  const spread = base * policy.jitter;
  return Math.max(0, Math.round(Math.min(policy.maxMs, base - spread + 2 * spread * random)));
}

/** Delay before retrying a gateway that exited 78 for the `streak`-th time in a row. */
export function conflictRetryDelay(streak: number, random: number): number {
  const base = Math.min(CONFLICT_RETRY_MAX_MS, CONFLICT_RETRY_MIN_MS * 2 ** Math.max(0, streak - 1));
  return Math.round(base * (0.9 + 0.2 * random));
}
