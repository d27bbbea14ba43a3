/**
 * @module metadata/adapters/pg-pipeline
 * The connections of the RecordBlobs pipeline (pg-repo.ts `writeBatch`: begin / lock / data /
 * commit sent together on one connection).
 *
 * Why not `reserve()` on the shared pool: postgres.js 3.4.9 loses reserved connections when
 * connections drop (a PostgreSQL restart, pg_terminate_backend), and the metadata service then
 * never recovers:
 *  - a connection closed by a FATAL error (57P01) while a query ran keeps that error and fails
 *    the first query of its next life with it; when that query is a queued reserve(), the
 *    rejected reserve stays queued and the next free connection is "given" to it: nobody ever
 *    gets that connection back, and once every connection went that way each reserve() waits
 *    forever (porsager/postgres#1195 is a sibling: a queued reserve handed to a reconnect is
 *    dropped and never settles);
 *  - release() of a reserved connection that closed puts it in the open queue, and the pool
 *    hangs on it (porsager/postgres#1199); queries held back on a reserved connection that
 *    closes never settle (porsager/postgres#1186).
 * So every pipeline connection is a postgres.js instance of its own (`max: 1`): it opens with a
 * plain `select 1` (which settles: answered, refused or timed out), is then reserved at once
 * (the connection is open: no reserve() ever waits in postgres.js' queue) and held while it
 * lives, between batches too. It skips postgres.js' array-type fetch (`fetch_types: false`; the
 * pipeline sends no JS arrays): a connection killed during that fetch rejects a promise nobody
 * handles (an unhandled rejection ends the process). Its `onclose` says, for certain,
 * when its one connection is gone (`lost`, `closed`); such an instance is never used again but
 * ended, and the next batch opens a fresh one. Nothing of a dead connection is ever handed back
 * to postgres.js.
 *
 * One connection per batch running at once: the LanedCommitter runs one batch per lane, so the
 * service holds `lanes` of them (they count against DATABASE_POOL_MAX, main.ts).
 */
import postgres from "postgres";
import type { Sql } from "./pg-repo";

export type ReservedSql = postgres.ReservedSql<{}>;

/** A reserved connection for one batch at a time (see the module comment). */
export interface PipelineLease {
  readonly sql: ReservedSql;
  /**
   * Calls `listener` once when the connection is gone (at once, asynchronously, if it already is);
   * returns the unsubscribe. A per-batch subscription, not a long-lived promise: racing every batch
   * against one never-settling promise keeps a reaction per batch alive (it leaked ~40 MiB/min at
   * 600 batches/s in the soak).
   */
  onLost(listener: () => void): () => void;
  /** Whether the connection is gone (then it is ended on return, never reused). */
  readonly closed: boolean;
}

/** Where writeBatch takes its connection from. */
export interface PipelineSource {
  acquire(): Promise<PipelineLease>;
  /**
   * Gives the lease back after a batch. `settled`: every statement of the batch settled, so the
   * connection is idle outside a transaction; otherwise (or once closed) it is not reused.
   */
  release(lease: PipelineLease, settled: boolean): void;
  /** Pipeline connections open now (for the metrics and the tests). */
  readonly open: number;
  end(timeoutSeconds: number): Promise<void>;
}

export function connectionClosed(): Error {
  return Object.assign(new Error("pipeline connection closed"), { code: "CONNECTION_CLOSED" });
}

interface Dedicated extends PipelineLease {
  readonly instance: Sql;
}

/** One postgres.js instance of one connection per pipeline connection (real PostgreSQL). */
export class DedicatedPipelines implements PipelineSource {
  private readonly idle: Dedicated[] = [];
  private readonly live = new Set<Dedicated>();
  private ending = false;

  /**
   * `connect` opens a postgres.js instance with `max: 1` and `fetch_types: false` that calls
   * `onclose` when its connection closes.
   */
  constructor(private readonly connect: (onclose: () => void) => Sql) {}

  get open(): number {
    return this.live.size;
  }

  async acquire(): Promise<PipelineLease> {
    for (let lease = this.idle.pop(); lease; lease = this.idle.pop()) {
      if (!lease.closed) return lease;
      this.discard(lease);
    }
    if (this.ending) throw Object.assign(new Error("pipeline connections ended"), { code: "CONNECTION_ENDED" });
    let reserved = false;
    let closed = false;
    const listeners = new Set<() => void>();
    // Connection attempts that fail before reserve() settles close too: only a close after it
    // resolved is the reserved connection's.
    const instance = this.connect(() => {
      if (!reserved || closed) return;
      closed = true;
      for (const l of [...listeners]) l();
      listeners.clear();
    });
    let sql: ReservedSql;
    try {
      await instance`select 1`;
      sql = await instance.reserve();
    } catch (err) {
      void instance.end().catch(() => {});
      throw err;
    }
    reserved = true;
    const lease: Dedicated = {
      instance,
      sql,
      onLost(listener) {
        if (closed) {
          queueMicrotask(listener);
          return () => {};
        }
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      get closed() {
        return closed;
      },
    };
    this.live.add(lease);
    return lease;
  }

  release(lease: PipelineLease, settled: boolean): void {
    const d = lease as Dedicated;
    if (settled && !d.closed && !this.ending) this.idle.push(d);
    else this.discard(d);
  }

  /**
   * Ends an instance without handing its connection back (release() of a closed one is #1199):
   * a graceful end() closes a live connection, and one that closed has nothing left to close.
   * Not awaited: postgres.js never resolves the end of a connection that closed mid-query.
   */
  private discard(d: Dedicated) {
    this.live.delete(d);
    void d.instance.end().catch(() => {});
  }

  async end(timeoutSeconds: number): Promise<void> {
    this.ending = true;
    const idle = this.idle.splice(0);
    await Promise.all(
      idle.map(async (d) => {
        this.live.delete(d);
        if (!d.closed) d.sql.release();
        await d.instance.end({ timeout: timeoutSeconds });
      }),
    );
    // Leases still out (a batch running past the grace time): ended where they are.
    for (const d of [...this.live]) this.discard(d);
  }
}

/**
 * reserve() on the shared pool: PGlite serves exactly one connection (one session), so the
 * pipeline must share it. PGlite runs in-process behind its socket server and does not drop
 * connections, so the reconnect bugs above do not arise; a connection error is then told by
 * its code alone (`lost` never rejects, `closed` stays false).
 */
export class SharedPoolPipelines implements PipelineSource {
  constructor(private readonly pool: Sql) {}

  readonly open = 0;

  async acquire(): Promise<PipelineLease> {
    return { sql: await this.pool.reserve(), onLost: () => () => {}, closed: false };
  }

  release(lease: PipelineLease, settled: boolean): void {
    // A connection lost mid-batch goes back to the pool by itself: release() would put it in
    // the open queue although closed (#1199).
    if (settled) lease.sql.release();
  }

  async end(): Promise<void> {}
}
