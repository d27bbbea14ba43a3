/**
 * @module orphan-sweep
 * The reaper's orphan sweeper: finds blobs that have no metadata row (storage answered, then the
 * row was never committed: metadata down, the gateway killed between the two halves) and deletes
 * them once they are older than a grace period. Pure: the storage and metadata services are
 * ports (`OrphanPorts`), so the decision and the order of calls are tested without a network.
 *
 * One sweep walks the whole store, a page at a time (ListBlobs in key order):
 *  1. blobs modified within `graceMs` are kept without asking (`young`): the gateway writes the
 *     blob first and its row within seconds, so a young blob without a row is usually a row on
 *     its way;
 *  2. the page's older blobs are looked up in ONE metadata call (LookupBlobRows);
 *  3. a blob is an orphan when no row names its (session, kind, index), or when that row points
 *     at ANOTHER file of the same index (chunk_3.mp4 stored while the row says chunk_3.webm: the
 *     leftover of a refused conflicting re-send). A row whose file_path is something else entirely
 *     keeps the blob: only what is provably unreferenced is deleted;
 *  4. right before deleting, the row is looked up again, for that blob alone; then DeleteBlob is
 *     asked to delete it only if it was not modified after the listing (`unmodifiedSinceMs`), so a
 *     blob deleted and re-created meanwhile (a re-send) survives.
 * Dry run: steps 1-4 without the delete; what would go is counted and reported.
 * Several reapers may sweep at once: every step is idempotent, and a blob another replica deleted
 * first answers `deleted: false` (counted as `gone`). Any failed call ends the sweep (the next one
 * starts over from the first page): a sweep never guesses.
 */
import type { BlobKind, BlobRef as StoredRef } from "../../shared/blob";

/** The blobs a row names: chunks and frames (a session's manifest is named by its session row, and never swept). */
type BlobRef = StoredRef & { kind: BlobKind };
import { type SleepFn, realSleep, runRounds } from "./reap-loop";

/** One blob as storage lists it. */
export interface ListedBlob {
  ref: BlobRef;
  /** Relative to the storage root: "<session>/audio/chunk_<N>.<ext>". */
  key: string;
  size: number;
  /** Last modification, Unix epoch ms. */
  modifiedAtMs: number;
}

export interface BlobPage {
  blobs: readonly ListedBlob[];
  /** "" when the listing is complete. */
  next: string;
}

/** What the sweeper needs from storage and metadata (adapters/grpc-orphan-ports.ts). */
export interface OrphanPorts {
  /** One page of blobs after `pageToken` ("" = from the start). */
  listBlobs(pageToken: string, pageSize: number, signal: AbortSignal): Promise<BlobPage>;
  /** The file_path of each blob's row, null when it has none; in the refs' order; one call. */
  lookupRows(refs: readonly BlobRef[], signal: AbortSignal): Promise<readonly (string | null)[]>;
  /** Deletes the blob if it was not modified after `unmodifiedSinceMs`; false when nothing was deleted. */
  deleteBlob(ref: BlobRef, unmodifiedSinceMs: number, signal: AbortSignal): Promise<boolean>;
}

export type Verdict = "young" | "referenced" | "orphan";

/** Whether a blob older than the grace period is unreferenced, given its row's file_path (null = no row). */
export function judgeRow(blob: ListedBlob, rowPath: string | null): Exclude<Verdict, "young"> {
  if (rowPath === null) return "orphan";
  if (rowPath === blob.key || rowPath.endsWith(`/${blob.key}`)) return "referenced";
  // The row names another file of the same index: "<session>/audio/chunk_3." + another extension.
  const stem = blob.key.slice(0, blob.key.lastIndexOf(".") + 1);
  const at = rowPath.lastIndexOf(stem);
  const sameIndexOtherFile = at >= 0 && (at === 0 || rowPath[at - 1] === "/") && /^[a-z0-9]+$/.test(rowPath.slice(at + stem.length));
  return sameIndexOtherFile ? "orphan" : "referenced";
}

/** A blob modified less than `graceMs` before `nowMs` is young (kept without a lookup). */
export function isYoung(blob: ListedBlob, nowMs: number, graceMs: number): boolean {
  return nowMs - blob.modifiedAtMs < graceMs;
}

/** The page's blobs that are old enough to be judged (the ones to look up). */
export function oldEnough(blobs: readonly ListedBlob[], nowMs: number, graceMs: number): ListedBlob[] {
  return blobs.filter((b) => !isYoung(b, nowMs, graceMs));
}

/** The orphans among `candidates`, given their rows (same order). */
export function orphansOf(candidates: readonly ListedBlob[], rows: readonly (string | null)[]): ListedBlob[] {
  if (rows.length !== candidates.length) throw new Error(`lookup answered ${rows.length} rows for ${candidates.length} keys`);
  return candidates.filter((b, i) => judgeRow(b, rows[i]!) === "orphan");
}

export interface KindCounts {
  audio: number;
  frame: number;
}

export interface SweepStats {
  /** Blobs listed. */
  scanned: number;
  pages: number;
  /** Kept without a lookup: modified within the grace period. */
  young: number;
  /** Orphans found (in dry run: what would be deleted), and their bytes, by kind. */
  found: KindCounts;
  foundBytes: KindCounts;
  /** Deleted, and their bytes, by kind (always 0 in dry run). */
  removed: KindCounts;
  removedBytes: KindCounts;
  /** Orphans that got a row between the page's lookup and the re-check (kept). */
  adopted: number;
  /** Deletes that found nothing to delete, or a newer blob (another replica, a re-send). */
  gone: number;
}

export type SweepResult =
  | { readonly ok: true; readonly stats: SweepStats; readonly durationMs: number }
  | { readonly ok: false; readonly error: unknown; readonly stats: SweepStats; readonly durationMs: number };

export interface SweepOptions {
  graceMs: number;
  pageSize: number;
  dryRun: boolean;
  now?: () => number;
  /** Called for every orphan found (before its delete), for the log. */
  onOrphan?: (blob: ListedBlob, action: "deleted" | "dry_run" | "adopted" | "gone") => void;
}

export function emptyStats(): SweepStats {
  const zero = (): KindCounts => ({ audio: 0, frame: 0 });
  return { scanned: 0, pages: 0, young: 0, found: zero(), foundBytes: zero(), removed: zero(), removedBytes: zero(), adopted: 0, gone: 0 };
}

function add(c: KindCounts, kind: BlobKind, n: number): void {
  c[kind] += n;
}

/** One sweep of the whole store; never throws (a failure is a result, with what was done so far). */
export async function sweepOrphans(ports: OrphanPorts, opts: SweepOptions, signal: AbortSignal): Promise<SweepResult> {
  const now = opts.now ?? Date.now;
  const started = performance.now();
  const stats = emptyStats();
  try {
    let token = "";
    do {
      if (signal.aborted) throw new Error("sweep stopped");
      const page = await ports.listBlobs(token, opts.pageSize, signal);
      stats.pages++;
      stats.scanned += page.blobs.length;
      const candidates = oldEnough(page.blobs, now(), opts.graceMs);
      stats.young += page.blobs.length - candidates.length;
      if (candidates.length > 0) {
        const rows = await ports.lookupRows(
          candidates.map((b) => b.ref),
          signal,
        );
        for (const blob of orphansOf(candidates, rows)) await settle(ports, opts, blob, stats, signal);
      }
      token = page.next;
    } while (token !== "");
    return { ok: true, stats, durationMs: performance.now() - started };
  } catch (error) {
    return { ok: false, error, stats, durationMs: performance.now() - started };
  }
}

/** Re-checks one orphan's row, then deletes it (or, in dry run, only counts it). */
async function settle(ports: OrphanPorts, opts: SweepOptions, blob: ListedBlob, stats: SweepStats, signal: AbortSignal): Promise<void> {
  const kind = blob.ref.kind;
  const [row] = await ports.lookupRows([blob.ref], signal);
  if (judgeRow(blob, row ?? null) !== "orphan") {
    stats.adopted++;
    opts.onOrphan?.(blob, "adopted");
    return;
  }
  add(stats.found, kind, 1);
  add(stats.foundBytes, kind, blob.size);
  if (opts.dryRun) {
    opts.onOrphan?.(blob, "dry_run");
    return;
  }
  if (await ports.deleteBlob(blob.ref, blob.modifiedAtMs, signal)) {
    add(stats.removed, kind, 1);
    add(stats.removedBytes, kind, blob.size);
    opts.onOrphan?.(blob, "deleted");
  } else {
    stats.gone++;
    opts.onOrphan?.(blob, "gone");
  }
}

/**
 * Runs a sweep, then waits `intervalMs`, again and again (fixed delay: sweeps never overlap).
 * The first sweep starts at once. `stop()` aborts the sweep in flight and the wait.
 */
export function startSweepLoop(opts: {
  ports: OrphanPorts;
  sweep: SweepOptions;
  intervalMs: number;
  onSweep: (result: SweepResult) => void;
  sleep?: SleepFn;
}): { done: Promise<void>; stop(): Promise<void> } {
  return runRounds(async (signal) => {
    const result = await sweepOrphans(opts.ports, opts.sweep, signal);
    if (signal.aborted && !result.ok) return null; // cut short by stop(): not a failure
    try {
      opts.onSweep(result);
    } catch {
      // reporting must not stop sweeping
    }
    return opts.intervalMs;
  }, opts.sleep ?? realSleep);
}
