import { describe, expect, test } from "bun:test";
import { type ReapFn, type RunResult, type SleepFn, nextDelayMs, realSleep, startReapLoop } from "./reap-loop";

/** A sleep that records requested delays and lets the test release each one. */
function manualSleep() {
  const delays: number[] = [];
  const waiters: Array<() => void> = [];
  const sleep: SleepFn = (ms, signal) =>
    new Promise<void>((resolve) => {
      delays.push(ms);
      if (signal.aborted) return resolve();
      waiters.push(resolve);
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
  return {
    sleep,
    delays,
    /** Ends the oldest pending sleep. */
    release() {
      waiters.shift()?.();
    },
    pending: () => waiters.length,
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));
async function until(cond: () => boolean, ms = 1000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await tick();
  }
}

describe("nextDelayMs", () => {
  const schedule = { intervalMs: 30_000, batchLimit: 3, maxDrainRuns: 2 };
  const ok = (n: number): RunResult => ({ ok: true, sessionIds: Array.from({ length: n }, (_, i) => `s${i}`), durationMs: 1 });

  test("waits the interval after a partial batch", () => {
    expect(nextDelayMs(ok(0), schedule, 0)).toBe(30_000);
    expect(nextDelayMs(ok(2), schedule, 0)).toBe(30_000);
  });
  test("runs again at once after a full batch, up to maxDrainRuns in a row", () => {
    expect(nextDelayMs(ok(3), schedule, 0)).toBe(0);
    expect(nextDelayMs(ok(3), schedule, 1)).toBe(0);
    expect(nextDelayMs(ok(3), schedule, 2)).toBe(30_000);
  });
  test("waits the interval after a failure", () => {
    expect(nextDelayMs({ ok: false, error: new Error("x"), durationMs: 1 }, schedule, 0)).toBe(30_000);
  });
});

describe("startReapLoop", () => {
  test("never overlaps runs: the next starts only after the previous settled and the interval passed", async () => {
    const s = manualSleep();
    let inFlight = 0;
    let maxInFlight = 0;
    let finishRun: (() => void) | undefined;
    let runs = 0;
    const reap: ReapFn = () => {
      runs++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      return new Promise((resolve) => {
        finishRun = () => {
          inFlight--;
          resolve([]);
        };
      });
    };
    const results: RunResult[] = [];
    const loop = startReapLoop({ schedule: { intervalMs: 100, batchLimit: 10 }, reap, onRun: (r) => results.push(r), sleep: s.sleep });
    await until(() => runs === 1);
    expect(s.pending()).toBe(0); // not sleeping while the run is in flight
    finishRun!();
    await until(() => s.pending() === 1);
    expect(runs).toBe(1);
    s.release();
    await until(() => runs === 2);
    finishRun!();
    await until(() => s.pending() === 1);
    expect(maxInFlight).toBe(1);
    expect(s.delays).toEqual([100, 100]);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    await loop.stop();
  });

  test("keeps going after a failed run and reports it", async () => {
    const s = manualSleep();
    const outcomes: Array<string[] | Error> = [new Error("metadata down"), ["a", "b"]];
    const reap: ReapFn = async () => {
      const next = outcomes.shift() ?? [];
      if (next instanceof Error) throw next;
      return next;
    };
    const results: RunResult[] = [];
    const loop = startReapLoop({ schedule: { intervalMs: 50, batchLimit: 10 }, reap, onRun: (r) => results.push(r), sleep: s.sleep });
    await until(() => results.length === 1);
    expect(results[0]!.ok).toBe(false);
    s.release();
    await until(() => results.length === 2);
    expect(results[1]).toMatchObject({ ok: true, sessionIds: ["a", "b"] });
    await loop.stop();
  });

  test("a throwing onRun does not stop the loop", async () => {
    const s = manualSleep();
    let runs = 0;
    const loop = startReapLoop({
      schedule: { intervalMs: 50, batchLimit: 10 },
      reap: async () => {
        runs++;
        return [];
      },
      onRun: () => {
        throw new Error("reporting broke");
      },
      sleep: s.sleep,
    });
    await until(() => s.pending() === 1);
    s.release();
    await until(() => runs === 2);
    await loop.stop();
  });

  test("drains full batches without waiting, then falls back to the interval", async () => {
    const s = manualSleep();
    let runs = 0;
    const reap: ReapFn = async (limit) => {
      runs++;
      return Array.from({ length: limit }, (_, i) => `s${runs}-${i}`);
    };
    const loop = startReapLoop({ schedule: { intervalMs: 1000, batchLimit: 2, maxDrainRuns: 3 }, reap, onRun: () => {}, sleep: s.sleep });
    await until(() => s.pending() === 1);
    // 1 run + 3 immediate re-runs, then the interval.
    expect(runs).toBe(4);
    expect(s.delays).toEqual([1000]);
    await loop.stop();
  });

  test("stop() interrupts the wait at once", async () => {
    const loop = startReapLoop({ schedule: { intervalMs: 60_000, batchLimit: 10 }, reap: async () => [], onRun: () => {} });
    await tick();
    const t0 = performance.now();
    await loop.stop();
    expect(performance.now() - t0).toBeLessThan(100);
  });

  test("stop() aborts the run in flight and does not report it as a failure", async () => {
    const results: RunResult[] = [];
    let started = false;
    const reap: ReapFn = (_limit, signal) =>
      new Promise((_resolve, reject) => {
        started = true;
        signal.addEventListener("abort", () => reject(new Error("cancelled")), { once: true });
      });
    const loop = startReapLoop({ schedule: { intervalMs: 60_000, batchLimit: 10 }, reap, onRun: (r) => results.push(r) });
    await until(() => started);
    await loop.stop();
    expect(results).toEqual([]);
    // idempotent
    await loop.stop();
  });

  test("a run that completes despite stop() is still reported (its sessions were abandoned)", async () => {
    const results: RunResult[] = [];
    let finish: ((ids: string[]) => void) | undefined;
    const loop = startReapLoop({
      schedule: { intervalMs: 60_000, batchLimit: 10 },
      reap: () => new Promise((resolve) => (finish = resolve)),
      onRun: (r) => results.push(r),
    });
    await until(() => finish !== undefined);
    const stopped = loop.stop();
    finish!(["x"]);
    await stopped;
    expect(results).toEqual([{ ok: true, sessionIds: ["x"], durationMs: expect.any(Number) }]);
  });
});

describe("realSleep", () => {
  test("resolves after the delay, or at once when aborted", async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    await realSleep(20, ac.signal);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(15);
    const p = realSleep(60_000, ac.signal);
    ac.abort();
    await p;
    await realSleep(60_000, ac.signal); // already aborted
  });
});
