/**
 * @module backoff
 * Reconnect / retry delays: exponential growth capped at maxMs, with "equal jitter" (half fixed,
 * half random) so a gateway restart does not see every client come back in the same millisecond,
 * yet no client retries in a tight loop (full jitter can yield ~0 ms).
 */

export interface BackoffOptions {
  /** delay before the first retry, before jitter (ms) */
  baseMs: number;
  /** upper bound of any delay (ms) */
  maxMs: number;
  /** returns [0, 1); injectable for tests */
  random?: () => number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 250, maxMs: 10_000 };

/** Delay before retry number `attempt` (0 = first retry). Always within [ceil/2, ceil]. */
export function backoffDelayMs(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF): number {
  const random = opts.random ?? Math.random;
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  const half = exp / 2;
  return Math.round(half + random() * half);
}
