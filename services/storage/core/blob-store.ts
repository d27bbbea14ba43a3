/**
 * @module blob-store
 * The storage service's core: `putBlob` and its siblings validate a request once and hand the
 * checked result to the backend port, `BlobStore`. `FsBlobStore`, `S3BlobStore` and
 * `MemoryBlobStore` implement the port; test/contract/blob-store.contract.ts checks them all
 * the same way, through these functions.
 *
 * Writes are create-only and idempotent (WriteOutcome, services/shared/blob.ts): a key is
 * written once and never overwritten; a re-send of the same bytes is "identical", other bytes
 * under a stored key are a "conflict" and dropped.
 *
 * The functions are not `async`: a refused request is a rejected promise (never a synchronous
 * throw) and an accepted one is the backend's own promise, so a put costs no extra await.
 */
import { isCanonicalUuid } from "../../../proto/wire/ids";
import type { WriteOutcome } from "../../shared/blob";
import { AppError } from "../../shared/errors";
import { type BlobRef, type CheckedRef, checkRef } from "./blob-ref";
import { verifySha256 } from "./checksum";

export interface PutInput {
  ref: BlobRef;
  data: Uint8Array;
  /** Hex SHA-256 of data as computed by the caller. */
  sha256Hex: string;
}

export interface PutResult {
  outcome: WriteOutcome;
  /** Absolute file path (fs) or s3://bucket/key. */
  location: string;
}

export interface BlobHead {
  size: number;
  sha256Hex: string;
  location: string;
}

export interface BlobData {
  data: Uint8Array;
  sha256Hex: string;
}

export interface DeleteOptions {
  /** Unix epoch ms: delete only a blob last modified at or before it. undefined = unconditional. */
  unmodifiedSinceMs?: number;
}

/** One stored blob as ListBlobs reports it. */
export interface ListedBlob {
  /** Parsed from the key (blob-ref.ts parseBlobKey). */
  at: CheckedRef;
  size: number;
  /** Last modification, Unix epoch ms. */
  modifiedAtMs: number;
}

export interface ListQuery {
  /** Only this session's blobs (validated canonical UUID); undefined = all. */
  sessionId?: string;
  /** List keys strictly after this one ("" = from the start). Keys compare as bytes. */
  after: string;
  /** 1..MAX_LIST_PAGE_SIZE. */
  pageSize: number;
}

export interface ListPage {
  blobs: ListedBlob[];
  /** The key to continue after; "" when the listing is complete. */
  next: string;
}

export interface TempSweep {
  removed: number;
  bytes: number;
}

/** Most blobs one ListBlobs page may hold (and the default). */
export const MAX_LIST_PAGE_SIZE = 1000;

/** What a backend writes: a checked ref, the bytes and their verified digest. */
export interface CheckedPut extends CheckedRef {
  data: Uint8Array;
  /** Verified against `data`, lowercase. */
  sha256Hex: string;
}

/** A storage backend. Every ref it receives has been validated by the functions below. */
export interface BlobStore {
  /** Human-readable name for logs, e.g. "fs" or "s3". */
  readonly backend: string;
  /** Called once per PutBlobs item: create-only, resolves once the blob is durable. */
  write(put: CheckedPut): Promise<PutResult>;
  /** Called by GetBlob. Throws NOT_FOUND when the blob does not exist. */
  get(at: CheckedRef): Promise<BlobData>;
  /** Called by HeadBlob. null when the blob does not exist. */
  head(at: CheckedRef): Promise<BlobHead | null>;
  /**
   * Called by DeleteBlob. false when there was nothing to delete, or when `unmodifiedSinceMs` is
   * set and the stored blob was modified after it (kept).
   */
  delete(at: CheckedRef, opts?: DeleteOptions): Promise<boolean>;
  /** Called by ListBlobs: one page of blobs in key order (`ListQuery` is already validated). */
  list(query: ListQuery): Promise<ListPage>;
  /**
   * Removes crash leftovers (temp files) last modified before `olderThanMs` (Unix ms), at start
   * and periodically (storage main.ts). Absent for backends that write atomically (S3).
   */
  sweepTemps?(olderThanMs: number): Promise<TempSweep>;
  /** Readiness: the backend answers (the folder is writable / the bucket exists). */
  ready(): Promise<boolean>;
  /** Where the blobs go, for the start-up log line (never secrets). */
  describe(): Record<string, unknown>;
  /** Releases what the backend holds (worker thread, HTTP agents); called once, at shutdown. */
  close(): void;
}

/** Validates the ref, verifies the checksum, then writes. Refusals: INVALID_* / CHECKSUM_MISMATCH, before anything is written. */
export function putBlob(store: BlobStore, input: PutInput): Promise<PutResult> {
  let put: CheckedPut;
  try {
    put = checkPut(input);
  } catch (err) {
    return Promise.reject(err);
  }
  return store.write(put);
}

export function getBlob(store: BlobStore, ref: BlobRef): Promise<BlobData> {
  return withRef(ref, (at) => store.get(at));
}

export function headBlob(store: BlobStore, ref: BlobRef): Promise<BlobHead | null> {
  return withRef(ref, (at) => store.head(at));
}

export function deleteBlob(store: BlobStore, ref: BlobRef, opts: DeleteOptions = {}): Promise<boolean> {
  const since = opts.unmodifiedSinceMs;
  if (since !== undefined && (!Number.isSafeInteger(since) || since <= 0)) {
    return Promise.reject(new AppError("INVALID_MESSAGE", "unmodified_since_ms must be a positive integer", { field: "unmodified_since_ms" }));
  }
  return withRef(ref, (at) => store.delete(at, opts));
}

/**
 * Validates a ListBlobs request and asks the backend. The page token is the last key of the
 * previous page (opaque to callers): a key of the layout, or refused as INVALID_MESSAGE.
 */
export function listBlobs(store: BlobStore, req: { sessionId?: string; pageToken?: string; pageSize?: number }): Promise<ListPage> {
  const sessionId = req.sessionId || undefined;
  if (sessionId !== undefined && !isCanonicalUuid(sessionId)) return Promise.reject(new AppError("INVALID_SESSION_ID", undefined, { field: "session_id" }));
  const after = req.pageToken ?? "";
  if (after !== "" && (after.length > 200 || !/^[0-9a-z_./-]+$/.test(after) || after.includes(".."))) {
    return Promise.reject(new AppError("INVALID_MESSAGE", "page_token is not one this service gave", { field: "page_token" }));
  }
  const size = req.pageSize || MAX_LIST_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_LIST_PAGE_SIZE) {
    return Promise.reject(new AppError("INVALID_MESSAGE", `page_size must be 1..${MAX_LIST_PAGE_SIZE}`, { field: "page_size" }));
  }
  return store.list({ sessionId, after, pageSize: size });
}

/** The first step of every put: validate the ref, verify the checksum (in this order). */
export function checkPut(input: PutInput): CheckedPut {
  const at = checkRef(input.ref);
  const sha256Hex = verifySha256(input.data, input.sha256Hex);
  return { ref: at.ref, dir: at.dir, name: at.name, key: at.key, data: input.data, sha256Hex };
}

/** The outcome of a put onto an existing blob, from the two digests. */
export function outcomeForExisting(existingSha256Hex: string | undefined, newSha256Hex: string): WriteOutcome {
  return existingSha256Hex === newSha256Hex ? "identical" : "conflict";
}

function withRef<T>(ref: BlobRef, fn: (at: CheckedRef) => Promise<T>): Promise<T> {
  let at: CheckedRef;
  try {
    at = checkRef(ref);
  } catch (err) {
    return Promise.reject(err);
  }
  return fn(at);
}
