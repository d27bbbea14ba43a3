/**
 * @module metadata/core/blobs
 * The steps of RecordBlobs and CompleteSession: item validation, which items of a batch are
 * written (`itemsToInsert`), planning a batch once its sessions are known (early answers,
 * in-batch duplicates), the created / identical / conflict decision and missing indices.
 * core/metadata.ts runs them around the repository's one write per batch.
 */
import { isCanonicalUuid, isSha256Hex } from "../../../proto/wire/ids";
import type { WriteOutcome } from "../../shared/blob";
import { AppError } from "../../shared/errors";
import type { BlobItem, BlobKindName, ItemResult, SessionRef } from "./model";
import { admitBlob } from "./session";

/** Largest claimed total CompleteSession accepts (1M chunks of 10 s is 115 days). */
export const MAX_CLAIMED_TOTAL = 1_000_000;

export function itemIndex(item: BlobItem): number {
  return item.kind === "audio" ? item.record.chunkIndex : item.record.frameIndex;
}

/** A malformed item is answered with its error without touching the database. */
export function validateItem(item: BlobItem): AppError | null {
  const r = item.record;
  if (!isCanonicalUuid(r.sessionId)) return new AppError("INVALID_SESSION_ID", undefined, { field: "session_id" });
  if (!isSha256Hex(r.sha256Hex)) return new AppError("INVALID_MESSAGE", "sha256_hex must be 64 lowercase hex digits", { field: "sha256_hex" });
  if (r.filePath === "") return new AppError("INVALID_MESSAGE", "file_path is required", { field: "file_path" });
  if (!Number.isSafeInteger(r.fileSize) || r.fileSize < 0) return new AppError("INVALID_MESSAGE", "file_size must be a non-negative integer", { field: "file_size" });
  const index = itemIndex(item);
  if (!Number.isSafeInteger(index) || index < 0) return new AppError("INVALID_MESSAGE", "index must be a non-negative integer", { field: item.kind === "audio" ? "chunk_index" : "frame_index" });
  return null;
}

export interface PlannedItem {
  /** Position in the batch. */
  pos: number;
  item: BlobItem;
  mediaSessionId: string;
  /** `${mediaSessionId}:${kind}:${index}`: the UNIQUE key of its table. */
  key: string;
  /** First item of the batch with this key: one of `itemsToInsert`. */
  first: boolean;
}

export interface BatchPlan {
  /** Answers that need no row (invalid item, unknown or completed session), by position. */
  early: Map<number, ItemResult>;
  /** Everything else, in batch order. */
  admitted: PlannedItem[];
}

/** `session` is a SessionRef.id, or the session UUID before the ids are known. */
export function blobKey(session: string, kind: BlobKindName, index: number): string {
  return `${session}:${kind}:${index}`;
}

/**
 * The items sent to the INSERT, chosen before the batch's sessions are read: valid, and the first
 * of their (session, kind, index) in the batch. The database inserts those of the sessions that
 * accept blobs; `planBatch` marks exactly these items `first`.
 */
export function itemsToInsert(items: BlobItem[]): BlobItem[] {
  const seen = new Set<string>();
  return items.filter((item) => {
    // Per epoch too: a stale writer's item ahead of the owner's must not keep the owner's out
    // (the database inserts only items of the current epoch, so at most one of them).
    const key = `${blobKey(item.record.sessionId, item.kind, itemIndex(item))}@${item.record.ownerEpoch}`;
    if (validateItem(item) || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Splits a batch into early answers and admitted items, given the sessions it names. */
export function planBatch(items: BlobItem[], sessions: ReadonlyMap<string, SessionRef>): BatchPlan {
  const early = new Map<number, ItemResult>();
  const admitted: PlannedItem[] = [];
  const seen = new Set<string>();
  items.forEach((item, pos) => {
    const invalid = validateItem(item);
    if (invalid) return void early.set(pos, { error: invalid });
    const session = sessions.get(item.record.sessionId);
    const refused = admitBlob(session?.status);
    if (refused || !session) return void early.set(pos, { error: refused ?? new AppError("SESSION_NOT_FOUND") });
    if (item.record.ownerEpoch !== session.ownerEpoch) return void early.set(pos, { error: staleEpoch(item.record.ownerEpoch, session.ownerEpoch) });
    const key = blobKey(session.id, item.kind, itemIndex(item));
    const first = !seen.has(key);
    seen.add(key);
    admitted.push({ pos, item, mediaSessionId: session.id, key, first });
  });
  return { early, admitted };
}

/**
 * The fence: a record written under an epoch that is not the session's current one comes from a
 * connection whose session was taken over (by a newer OpenSession, on any gateway replica).
 */
export function staleEpoch(recordEpoch: number, currentEpoch: number): AppError {
  return new AppError("SESSION_TAKEN_OVER", "another connection holds this session's lease", {}, { reason: recordEpoch < currentEpoch ? "stale_epoch" : "unknown_epoch" });
}

/**
 * Same index: created when this item's INSERT produced the row, else identical when the stored
 * SHA-256 equals the item's, else a conflict (the stored row is kept).
 */
export function decideOutcome(sha256Hex: string, createdByThisItem: boolean, storedSha256: string | undefined): WriteOutcome {
  if (createdByThisItem) return "created";
  return storedSha256 === sha256Hex ? "identical" : "conflict";
}

/**
 * Final answers of a batch. `inserted`: keys whose INSERT returned a row; `stored`: the SHA-256
 * now stored under every admitted key (from the INSERT or from the existing row).
 */
export function decideOutcomes(
  count: number,
  plan: BatchPlan,
  inserted: ReadonlySet<string>,
  stored: ReadonlyMap<string, string>,
): ItemResult[] {
  const results: ItemResult[] = new Array(count);
  for (const [pos, r] of plan.early) results[pos] = r;
  for (const p of plan.admitted) {
    results[p.pos] = { outcome: decideOutcome(p.item.record.sha256Hex, p.first && inserted.has(p.key), stored.get(p.key)) };
  }
  for (let i = 0; i < count; i++) if (!results[i]) results[i] = { error: new AppError("INTERNAL") };
  return results;
}

export function validateClaimedTotal(n: number, field: string): number {
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_CLAIMED_TOTAL) {
    throw new AppError("INVALID_MESSAGE", `${field} must be an integer in [0, ${MAX_CLAIMED_TOTAL}]`, { field });
  }
  return n;
}

/** Indices in [0, claimed) that are not in `present`, ascending. */
export function missingIndices(claimed: number, present: Iterable<number>): number[] {
  const have = new Set<number>();
  for (const i of present) have.add(Number(i));
  const out: number[] = [];
  for (let i = 0; i < claimed; i++) if (!have.has(i)) out.push(i);
  return out;
}
