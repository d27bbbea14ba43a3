/**
 * @module blob-store
 * The storage port. The gRPC adapter talks only to this interface; `FsBlobStore` and
 * `S3BlobStore` implement it, and test/contract/blob-store.contract.ts checks both the same way.
 *
 * Writes are create-only and idempotent: a key is written once and never overwritten.
 *  - CREATED:   the key did not exist; the bytes are now durable.
 *  - IDENTICAL: the key existed with the same SHA-256; nothing was rewritten (a harmless re-send).
 *  - CONFLICT:  the key existed with different bytes; the stored blob is kept, the new one dropped.
 */
import { type BlobRef, blobKey, validateRef } from "./blob-ref";
import { verifySha256 } from "./checksum";

export type PutOutcome = "CREATED" | "IDENTICAL" | "CONFLICT";

export interface PutInput {
  ref: BlobRef;
  data: Uint8Array;
  /** Hex SHA-256 of data as computed by the caller. */
  sha256Hex: string;
}

export interface PutResult {
  outcome: PutOutcome;
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

export interface BlobStore {
  /** Called for every PutBlobs item. Throws INVALID_* / CHECKSUM_MISMATCH before writing anything. */
  put(input: PutInput): Promise<PutResult>;
  /** Called by GetBlob. Throws NOT_FOUND when the blob does not exist. */
  get(ref: BlobRef): Promise<BlobData>;
  /** Called by HeadBlob. null when the blob does not exist. */
  head(ref: BlobRef): Promise<BlobHead | null>;
  /** Called by DeleteBlob. false when there was nothing to delete. */
  delete(ref: BlobRef): Promise<boolean>;
  /** Readiness: the backend answers (the folder is writable / the bucket exists). */
  ready(): Promise<boolean>;
  /** Human-readable name for logs, e.g. "fs" or "s3". */
  readonly backend: string;
}

/** What an adapter needs to write, once the input has been validated and its checksum verified. */
export interface CheckedPut {
  ref: BlobRef;
  key: string;
  data: Uint8Array;
  /** Verified, lowercase. */
  sha256Hex: string;
}

/** The shared first step of every put: validate the ref, verify the checksum, compute the key. */
export function checkPut(input: PutInput): CheckedPut {
  validateRef(input.ref);
  const sha256Hex = verifySha256(input.data, input.sha256Hex);
  return { ref: input.ref, key: blobKey(input.ref), data: input.data, sha256Hex };
}

/** The outcome of a put onto an existing blob, from the two digests. */
export function outcomeForExisting(existingSha256Hex: string | undefined, newSha256Hex: string): PutOutcome {
  return existingSha256Hex === newSha256Hex ? "IDENTICAL" : "CONFLICT";
}
