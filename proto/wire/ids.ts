/**
 * @module wire/ids
 * The identifiers of the protocol and their validators: the only place their shapes are written.
 * Pure and dependency-free: the gateway, the services' cores and the web client all import it.
 */

/** What a blob is: an audio chunk or a camera frame. */
export type BlobKind = "audio" | "frame";
export const BLOB_KINDS: readonly BlobKind[] = ["audio", "frame"];

/** The largest chunk_index / frame_index (uint32 on the wire). */
export const MAX_INDEX = 0xffff_ffff;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SHA256_HEX_RE = /^[0-9a-f]{64}$/;

/** True for a canonical lowercase UUID string (any version): 8-4-4-4-12 lowercase hex digits. */
export function isCanonicalUuid(s: unknown): s is string {
  return typeof s === "string" && UUID_RE.test(s);
}

/** True for a lowercase hex SHA-256 digest (64 hex digits). */
export function isSha256Hex(s: unknown): s is string {
  return typeof s === "string" && SHA256_HEX_RE.test(s);
}

/** True for an integer in [0, MAX_INDEX]. */
export function isBlobIndex(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= MAX_INDEX;
}
