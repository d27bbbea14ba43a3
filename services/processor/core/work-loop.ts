/**
 * @module processor/work-loop
 * The processor's loop: `concurrency` workers share a small local queue that one claimer fills
 * from the metadata service's work queue (ClaimAnalysisWork), each item is analysed
 * (analyze.ts) and its result written under its claim (CompleteAnalysisWork), or its failure
 * reported (FailAnalysisWork) with a retry delay that doubles per attempt:
 *   - a failure of the item itself (undecodable, blob missing, hash mismatch) counts toward
 *     `maxAttempts`, then the item is failed for good with its reason;
 *   - a dependency being away (storage, transcriber: `transient`) counts toward the larger
 *     `maxTransientAttempts`, so an outage of minutes delays results instead of failing them;
 *   - a result refused with ANALYSIS_CLAIM_LOST (the claim expired and another worker took it)
 *     is dropped: the other worker's result is the one that counts.
 * stop() stops claiming, gives unstarted claims back (retry at once) and waits for the rest.
 */
import { toAppError } from "../../shared/errors";
import { analyzeItem, type AnalyzeDeps, failureOf } from "./analyze";
import type { ClaimedItem, ItemKind, WorkQueue } from "./ports";

export type ItemOutcome = "done" | "retried" | "failed" | "claim_lost";

export interface WorkLoopOptions {
  queue: WorkQueue;
  analyze: AnalyzeDeps;
  kinds: readonly ItemKind[];
  concurrency: number;
  /** Items per claim call. */
  claimBatch: number;
  /** Pause when there was nothing to claim, or after a failed claim, ms. */
  pollMs: number;
  maxAttempts: number;
  maxTransientAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  events?: {
    claimed?(items: readonly ClaimedItem[]): void;
    claimFailed?(err: unknown): void;
    finished?(item: ClaimedItem, outcome: ItemOutcome, seconds: number, detail: { code?: string; err?: unknown }): void;
    inFlight?(n: number): void;
  };
  sleep?: (ms: number) => Promise<void>;
}

/** The retry delay after `attempt` failed: base·2^(attempt−1), at most max. */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
}

export class WorkLoop {
  private readonly local: ClaimedItem[] = [];
  private running = false;
  private busy = 0;
  private workers: Promise<void>[] = [];
  private claiming: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly o: WorkLoopOptions) {
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.workers = Array.from({ length: this.o.concurrency }, () => this.worker());
  }

  /** Stops claiming, gives back claims not started yet, waits for the items being analysed. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.claiming;
    await Promise.all(this.workers);
    const unstarted = this.local.splice(0);
    await Promise.all(
      unstarted.map((item) => this.o.queue.fail(item, { reason: "GIVEN_BACK: the processor stopped before starting it", permanent: false, retryAfterMs: 0, maxAttempts: this.o.maxTransientAttempts + 1 }).catch(() => {})),
    );
  }

  private async next(): Promise<ClaimedItem | null> {
    while (this.running) {
      const item = this.local.shift();
      if (item) return item;
      if (!this.claiming) this.claiming = this.refill().finally(() => (this.claiming = null));
      await this.claiming;
    }
    return null;
  }

  private async refill(): Promise<void> {
    try {
      const items = await this.o.queue.claim(this.o.kinds, this.o.claimBatch);
      if (items.length) {
        this.o.events?.claimed?.(items);
        this.local.push(...items);
        return;
      }
    } catch (err) {
      this.o.events?.claimFailed?.(err);
    }
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      void this.sleep(this.o.pollMs).then(resolve);
    });
    this.wake = null;
  }

  private async worker(): Promise<void> {
    for (;;) {
      const item = await this.next();
      if (!item) return;
      this.o.events?.inFlight?.(++this.busy);
      try {
        await this.process(item);
      } finally {
        this.o.events?.inFlight?.(--this.busy);
      }
    }
  }

  /** Analyses one item and writes what came of it; never throws. */
  async process(item: ClaimedItem): Promise<ItemOutcome> {
    const t0 = performance.now();
    const done = (outcome: ItemOutcome, detail: { code?: string; err?: unknown } = {}) => {
      this.o.events?.finished?.(item, outcome, (performance.now() - t0) / 1000, detail);
      return outcome;
    };
    let result;
    try {
      result = await analyzeItem(this.o.analyze, item);
    } catch (err) {
      const f = failureOf(err);
      const maxAttempts = f.transient ? this.o.maxTransientAttempts : this.o.maxAttempts;
      try {
        const failed = await this.o.queue.fail(item, {
          reason: `${f.code}: ${f.message}`.slice(0, 500),
          permanent: false,
          retryAfterMs: retryDelayMs(item.attempt, this.o.retryBaseMs, this.o.retryMaxMs),
          maxAttempts,
        });
        return done(failed ? "failed" : "retried", { code: f.code, err: f.cause ?? f });
      } catch (e) {
        // The claim is gone (or metadata is away): the claim expires and the item comes back.
        return done(toAppError(e).code === "ANALYSIS_CLAIM_LOST" ? "claim_lost" : "retried", { code: f.code, err: e });
      }
    }
    try {
      await this.o.queue.complete(item, JSON.stringify(result.analysis), result.transcription);
      return done("done");
    } catch (err) {
      const code = toAppError(err).code;
      // Not written: lost claim (another worker's result counts), or metadata away (the claim expires, the item comes back).
      return done(code === "ANALYSIS_CLAIM_LOST" ? "claim_lost" : "retried", { code, err });
    }
  }
}
