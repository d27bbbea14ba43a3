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
import type { WriteOutcome } from "../../shared/blob";
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
  /** Called by DeleteBlob. false when there was nothing to delete. */
  delete(at: CheckedRef): Promise<boolean>;
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

export function deleteBlob(store: BlobStore, ref: BlobRef): Promise<boolean> {
  return withRef(ref, (at) => store.delete(at));
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
