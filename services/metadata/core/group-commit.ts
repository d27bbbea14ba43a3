/**
 * @module metadata/core/group-commit
 * Group commit for the RecordBlobs hot path. Items submitted by any number of streams queue up;
 * a batch is cut when it is full (`maxBatch`) or on the next turn of the event loop, and at most
 * `maxInFlight` batches (transactions) run at once. While those run, new items accumulate, so
 * the batch size grows with the load: one item per transaction when idle, `maxBatch` per
 * transaction under pressure. Each submit() resolves once ITS batch's commit resolved.
 *
 * Pure scheduling: no I/O of its own; `commit` is the repository call.
 */

export interface GroupCommitOptions<I, R> {
  /** Items per transaction at most. */
  maxBatch: number;
  /** Transactions running at once at most (>= 1). */
  maxInFlight: number;
  /** Commits a batch; must return one result per item, in order. */
  commit(items: I[]): Promise<R[]>;
  /** Called after every batch with its size and duration in seconds (metrics). */
  onBatch?(size: number, seconds: number, ok: boolean): void;
}

interface Waiter<I, R> {
  item: I;
  resolve(r: R): void;
  reject(e: unknown): void;
}

export class GroupCommitter<I, R> {
  private queue: Waiter<I, R>[] = [];
  private inFlight = 0;
  private scheduled = false;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly opts: GroupCommitOptions<I, R>) {
    if (opts.maxBatch < 1 || opts.maxInFlight < 1) throw new RangeError("maxBatch and maxInFlight must be >= 1");
  }

  /** Items queued, not yet in a transaction. */
  get queued(): number {
    return this.queue.length;
  }

  get running(): number {
    return this.inFlight;
  }

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.opts.maxBatch) this.pump();
      else this.schedule();
    });
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    // The next turn, not a microtask: lets every message already read from the socket join.
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump() {
    while (this.queue.length > 0 && this.inFlight < this.opts.maxInFlight) {
      const batch = this.queue.splice(0, this.opts.maxBatch);
      this.inFlight++;
      void this.run(batch);
    }
    this.checkIdle();
  }

  private async run(batch: Waiter<I, R>[]) {
    const t0 = performance.now();
    try {
      const results = await this.opts.commit(batch.map((w) => w.item));
      this.opts.onBatch?.(batch.length, (performance.now() - t0) / 1000, true);
      batch.forEach((w, i) => {
        if (i < results.length) w.resolve(results[i]!);
        else w.reject(new Error(`commit returned ${results.length} results for ${batch.length} items`));
      });
    } catch (err) {
      this.opts.onBatch?.(batch.length, (performance.now() - t0) / 1000, false);
      for (const w of batch) w.reject(err);
    } finally {
      this.inFlight--;
      // Whatever queued while this transaction ran goes out now, as one batch.
      this.pump();
    }
  }

  private checkIdle() {
    if (this.queue.length === 0 && this.inFlight === 0 && this.idleWaiters.length) {
      const ws = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of ws) w();
    }
  }
}

/** FNV-1a 32-bit: a stable, cheap spread of session ids over lanes. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * `lanes` GroupCommitters with one transaction each, an item going to the lane of its key
 * (the session id). Two transactions running at once then never touch the same session, so
 * they never wait on each other's row locks, and one session's items commit in arrival order.
 */
export class LanedCommitter<I, R> {
  private readonly lanes: GroupCommitter<I, R>[];

  constructor(
    opts: Omit<GroupCommitOptions<I, R>, "maxInFlight"> & { lanes: number; keyOf(item: I): string },
  ) {
    if (opts.lanes < 1) throw new RangeError("lanes must be >= 1");
    this.lanes = Array.from({ length: opts.lanes }, () => new GroupCommitter<I, R>({ ...opts, maxInFlight: 1 }));
    this.keyOf = opts.keyOf;
  }

  private readonly keyOf: (item: I) => string;

  submit(item: I): Promise<R> {
    return this.lanes[fnv1a(this.keyOf(item)) % this.lanes.length]!.submit(item);
  }

  async idle(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.idle()));
  }
}
