/**
 * @module erasure
 * The reaper's erasure worker and retention pass (docs/retention.md). Pure: the storage and
 * metadata services are ports (`ErasurePorts`), so the order of calls and the resumption after a
 * kill are tested without a network.
 *
 * One claimed erasure (`eraseOne`):
 *  1. ask metadata for the interview's media sessions that are left (under the claim);
 *  2. for each: list its blobs (storage ListBlobs for that session: chunks, frames, manifest) and
 *     delete them, a page at a time, `concurrency` deletes at once; after each page report what
 *     storage confirmed deleted (RecordErasureProgress, which also extends the claim). Passes are
 *     repeated until one lists nothing (a blob whose write was in flight when the erasure was
 *     requested lands late; its row is refused, the writers are fenced);
 *  3. then delete that session's rows (DeleteErasedSessionRows): blobs before rows, so a killed
 *     reaper never leaves a blob that no row names and no erasure will look for;
 *  4. when no session is left, FinishErasure deletes the interview row and marks the erasure done.
 * Resumable and idempotent: a reaper killed at any step leaves a running erasure whose claim
 * expires; the next claim starts again at 1 and finds only what is left. A blob already gone
 * answers deleted=false and is not counted; rows already gone count 0. The counts therefore never
 * count a blob or row twice (a kill between a page's deletes and its report loses at most that
 * page from `blobs_deleted`: the blobs are gone all the same).
 */
import type { BlobRef, StoredKind } from "../../shared/blob";
import { type SleepFn, realSleep, runRounds } from "./reap-loop";

export type ErasureReasonName = "request" | "retention";

export interface ClaimedErasure {
  erasureId: number;
  interviewSessionId: number;
  reason: ErasureReasonName;
  attempt: number;
}

/** One blob of a session as storage lists it. */
export interface SessionBlob {
  ref: BlobRef & { kind: StoredKind };
  size: number;
}

export interface SessionRowsDeleted {
  audioChunks: number;
  videoFrames: number;
  captureEvents: number;
  mediaSessions: number;
}

/** What the erasure worker needs (adapters/grpc-erasure-ports.ts). Calls under a claim fail ERASURE_CLAIM_LOST once it is lost. */
export interface ErasurePorts {
  claim(limit: number, signal: AbortSignal): Promise<ClaimedErasure[]>;
  listSessions(e: ClaimedErasure, signal: AbortSignal): Promise<string[]>;
  /** One page of the session's blobs after `pageToken` ("" = from the start); next "" = the last page. */
  listBlobs(sessionId: string, pageToken: string, pageSize: number, signal: AbortSignal): Promise<{ blobs: readonly SessionBlob[]; next: string }>;
  /** false when there was nothing to delete (already gone). */
  deleteBlob(ref: SessionBlob["ref"], signal: AbortSignal): Promise<boolean>;
  /** Adds to the erasure's counts and extends the claim. */
  progress(e: ClaimedErasure, blobs: number, bytes: number, signal: AbortSignal): Promise<void>;
  deleteSessionRows(e: ClaimedErasure, sessionId: string, signal: AbortSignal): Promise<SessionRowsDeleted>;
  finish(e: ClaimedErasure, signal: AbortSignal): Promise<{ finished: boolean; remaining: number }>;
  /** The retention pass: enqueues the expired interviews; answers the erasures it created. */
  enqueueExpired(limit: number, signal: AbortSignal): Promise<readonly { erasureId: number; interviewSessionId: number }[]>;
}

export interface ErasureOptions {
  /** Blobs per ListBlobs page (and per progress report), 1..1000. */
  pageSize: number;
  /** DeleteBlob calls in flight at once. */
  concurrency: number;
  /** Listing passes per session before giving up (blobs that keep appearing), and rounds of sessions per erasure. */
  maxPasses?: number;
  /** Called after each page's deletes (logs, tests). */
  onPage?: (e: ClaimedErasure, sessionId: string, deleted: number) => void;
}

export interface ErasureStats {
  sessions: number;
  blobsDeleted: number;
  bytesDeleted: number;
  /** Deletes that found nothing (a previous, killed attempt's). */
  blobsGone: number;
  rowsDeleted: number;
}

export type ErasureResult =
  | { readonly ok: true; readonly erasure: ClaimedErasure; readonly stats: ErasureStats; readonly durationMs: number }
  | { readonly ok: false; readonly erasure: ClaimedErasure; readonly error: unknown; readonly stats: ErasureStats; readonly durationMs: number };

export const DEFAULT_MAX_PASSES = 5;

export function emptyErasureStats(): ErasureStats {
  return { sessions: 0, blobsDeleted: 0, bytesDeleted: 0, blobsGone: 0, rowsDeleted: 0 };
}

/** Runs `fn` over `items`, at most `limit` at once; rejects with the first failure (after the others settle). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed: { err: unknown } | null = null;
  const worker = async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!);
      } catch (err) {
        failed ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed) throw (failed as { err: unknown }).err;
  return out;
}

/** Deletes every blob of one session (passes until a listing is empty); counts what storage confirmed. */
async function eraseSessionBlobs(ports: ErasurePorts, e: ClaimedErasure, sessionId: string, opts: ErasureOptions, stats: ErasureStats, signal: AbortSignal): Promise<void> {
  const maxPasses = opts.maxPasses ?? DEFAULT_MAX_PASSES;
  for (let pass = 0; pass < maxPasses; pass++) {
    let token = "";
    let listed = 0;
    do {
      if (signal.aborted) throw new Error("erasure stopped");
      const page = await ports.listBlobs(sessionId, token, opts.pageSize, signal);
      listed += page.blobs.length;
      // Every delete of the page settles before anything is reported: what storage confirmed is
      // counted even when another delete of the page failed (then the erasure fails after the report).
      let failure: { err: unknown } | null = null;
      const results = await mapLimit(page.blobs, opts.concurrency, async (b) => {
        try {
          return (await ports.deleteBlob(b.ref, signal)) ? b.size : -1;
        } catch (err) {
          failure ??= { err };
          return null;
        }
      });
      const deleted = results.filter((r): r is number => r !== null && r >= 0);
      const bytes = deleted.reduce((a, b) => a + b, 0);
      stats.blobsDeleted += deleted.length;
      stats.bytesDeleted += bytes;
      stats.blobsGone += results.filter((r) => r === -1).length;
      // Reported even when 0: it extends the claim and notices a lost one.
      await ports.progress(e, deleted.length, bytes, signal);
      opts.onPage?.(e, sessionId, deleted.length);
      if (failure) throw (failure as { err: unknown }).err;
      token = page.next;
    } while (token !== "");
    if (listed === 0) return;
  }
  throw new Error(`blobs of a session still listed after ${maxPasses} passes`);
}

/** Carries out one claimed erasure; never throws (a failure is a result, with what was done so far). */
export async function eraseOne(ports: ErasurePorts, e: ClaimedErasure, opts: ErasureOptions, signal: AbortSignal): Promise<ErasureResult> {
  const started = performance.now();
  const stats = emptyErasureStats();
  try {
    const maxRounds = opts.maxPasses ?? DEFAULT_MAX_PASSES;
    for (let round = 0; ; round++) {
      const sessions = await ports.listSessions(e, signal);
      for (const sessionId of sessions) {
        await eraseSessionBlobs(ports, e, sessionId, opts, stats, signal);
        const rows = await ports.deleteSessionRows(e, sessionId, signal);
        stats.rowsDeleted += rows.audioChunks + rows.videoFrames + rows.captureEvents + rows.mediaSessions;
        stats.sessions += rows.mediaSessions;
      }
      const done = await ports.finish(e, signal);
      if (done.finished) break;
      if (round + 1 >= maxRounds) throw new Error(`${done.remaining} media sessions still left after ${maxRounds} rounds`);
    }
    return { ok: true, erasure: e, stats, durationMs: performance.now() - started };
  } catch (error) {
    return { ok: false, erasure: e, error, stats, durationMs: performance.now() - started };
  }
}

/**
 * Claims erasures one at a time and carries each out, until none is left; then waits
 * `intervalMs` and asks again. A failed erasure keeps its claim until it expires (the backoff),
 * and is then claimed again, by this reaper or another. `stop()` aborts the erasure in flight
 * (its claim expires: the next reaper resumes it) and the wait.
 */
export function startErasureLoop(opts: {
  ports: ErasurePorts;
  erasure: ErasureOptions;
  intervalMs: number;
  onErasure: (r: ErasureResult) => void;
  /** A failed claim call (metadata down). */
  onClaimError: (err: unknown) => void;
  sleep?: SleepFn;
}): { done: Promise<void>; stop(): Promise<void> } {
  return runRounds(async (signal) => {
    let claimed: ClaimedErasure[] = [];
    try {
      claimed = await opts.ports.claim(1, signal);
    } catch (err) {
      if (!signal.aborted) safe(() => opts.onClaimError(err));
    }
    const e = claimed[0];
    if (e) {
      const r = await eraseOne(opts.ports, e, opts.erasure, signal);
      if (signal.aborted && !r.ok) return null; // cut short by stop(): the claim expires, another resumes
      safe(() => opts.onErasure(r));
      if (r.ok) return 0; // the next one at once
    }
    return opts.intervalMs;
  }, opts.sleep ?? realSleep);
}

export type RetentionPassResult =
  | { readonly ok: true; readonly enqueued: readonly { erasureId: number; interviewSessionId: number }[]; readonly durationMs: number }
  | { readonly ok: false; readonly error: unknown; readonly durationMs: number };

/** Runs the retention pass every `intervalMs` (the first at once). */
export function startRetentionLoop(opts: {
  ports: Pick<ErasurePorts, "enqueueExpired">;
  limit: number;
  intervalMs: number;
  onPass: (r: RetentionPassResult) => void;
  sleep?: SleepFn;
}): { done: Promise<void>; stop(): Promise<void> } {
  return runRounds(async (signal) => {
    const t0 = performance.now();
    let r: RetentionPassResult;
    try {
      r = { ok: true, enqueued: await opts.ports.enqueueExpired(opts.limit, signal), durationMs: performance.now() - t0 };
    } catch (error) {
      r = { ok: false, error, durationMs: performance.now() - t0 };
    }
    if (signal.aborted && !r.ok) return null;
    safe(() => opts.onPass(r));
    // A full page: more may be expired; go on at once.
    return r.ok && r.enqueued.length >= opts.limit ? 0 : opts.intervalMs;
  }, opts.sleep ?? realSleep);
}

function safe(fn: () => void): void {
  try {
    fn();
  } catch {
    // reporting must not stop the loop
  }
}
