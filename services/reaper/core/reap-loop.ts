/**
 * @module reap-loop
 * The reaper's schedule, free of gRPC and timers' side effects so it can be tested in
 * microseconds. One loop runs `reap` again and again:
 *  - runs never overlap: the next run is scheduled only after the previous one settled
 *    (fixed delay, not fixed rate, so a slow metadata service is not piled up on);
 *  - a failed run is reported and the loop goes on after the normal interval;
 *  - a run that returned a full batch (`limit` ids) runs again at once, because more idle
 *    sessions are probably waiting; at most `maxDrainRuns` times in a row, then the interval
 *    applies again so a misbehaving server cannot turn the loop into a busy loop;
 *  - `stop()` interrupts the wait at once and aborts the run in flight through its AbortSignal,
 *    then resolves when the loop has really ended.
 */

export interface ReapSchedule {
  /** Pause between the end of one run and the start of the next, in milliseconds. */
  readonly intervalMs: number;
  /** Most sessions abandoned by one run (the RPC's `limit`). */
  readonly batchLimit: number;
  /** Consecutive immediate re-runs after full batches before the interval applies again. */
  readonly maxDrainRuns?: number;
}

export type RunResult =
  | { readonly ok: true; readonly sessionIds: readonly string[]; readonly durationMs: number }
  | { readonly ok: false; readonly error: unknown; readonly durationMs: number };

/** Marks idle sessions abandoned; returns their ids. Should give up when `signal` aborts. */
export type ReapFn = (limit: number, signal: AbortSignal) => Promise<readonly string[]>;

/** Resolves after ms, or early (without rejecting) when signal aborts. */
export type SleepFn = (ms: number, signal: AbortSignal) => Promise<void>;

export const DEFAULT_MAX_DRAIN_RUNS = 10;

/** Delay before the next run, given the last result and how many immediate re-runs preceded it. */
export function nextDelayMs(result: RunResult, schedule: ReapSchedule, drainRunsSoFar: number): number {
  const maxDrain = schedule.maxDrainRuns ?? DEFAULT_MAX_DRAIN_RUNS;
  const fullBatch = result.ok && result.sessionIds.length >= schedule.batchLimit;
  return fullBatch && drainRunsSoFar < maxDrain ? 0 : schedule.intervalMs;
}

export const realSleep: SleepFn = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });

export interface ReapLoop {
  /** Resolves once the loop has ended (after stop()). */
  readonly done: Promise<void>;
  /** Asks the loop to end; resolves when it has. Safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * The reaper's loops, one shape: `round` runs again and again until stop(); it returns how long
 * to wait before the next one (0: at once), or null when stop() cut it short (then the loop ends
 * without waiting). stop() aborts the round in flight (its signal) and the wait.
 */
export function runRounds(round: (signal: AbortSignal) => Promise<number | null>, sleep: SleepFn): ReapLoop {
  const abort = new AbortController();
  const done = (async () => {
    while (!abort.signal.aborted) {
      const delay = await round(abort.signal);
      if (delay === null) break;
      if (delay > 0) await sleep(delay, abort.signal);
    }
  })();
  return {
    done,
    stop() {
      abort.abort();
      return done;
    },
  };
}

/**
 * Starts the loop; the first run begins immediately (a restarted reaper catches up at once).
 * `onRun` is called after every run, successful or not; an exception from it is swallowed
 * so that reporting can never stop reaping.
 */
export function startReapLoop(opts: {
  schedule: ReapSchedule;
  reap: ReapFn;
  onRun: (result: RunResult) => void;
  sleep?: SleepFn;
  now?: () => number;
}): ReapLoop {
  const sleep = opts.sleep ?? realSleep;
  const now = opts.now ?? (() => performance.now());

  const report = (r: RunResult) => {
    try {
      opts.onRun(r);
    } catch {
      // reporting must not stop the loop
    }
  };

  let drainRuns = 0;
  return runRounds(async (signal) => {
    const started = now();
    let result: RunResult;
    try {
      const sessionIds = await opts.reap(opts.schedule.batchLimit, signal);
      result = { ok: true, sessionIds, durationMs: now() - started };
    } catch (error) {
      result = { ok: false, error, durationMs: now() - started };
    }
    // A run cut short by stop() is not a failure worth reporting.
    if (signal.aborted && !result.ok) return null;
    report(result);
    const delay = nextDelayMs(result, opts.schedule, drainRuns);
    drainRuns = delay === 0 ? drainRuns + 1 : 0;
    return delay;
  }, sleep);
}
