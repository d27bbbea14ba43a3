/**
 * @module checksum
 * SHA-256 helpers. The caller sends the lowercase hex digest of every blob; the storage service
 * recomputes it before writing anything, so bytes damaged between gateway and disk are refused
 * (CHECKSUM_MISMATCH) instead of stored.
 */
import { isSha256Hex } from "../../../proto/wire/ids";
import { AppError } from "../../shared/errors";
import { sha256Hex } from "../../shared/sha256";

export { sha256Hex };

/** Hex digest -> base64 digest (what S3's x-amz-checksum-sha256 carries). */
export function hexToBase64(hex: string): string {
  return Buffer.from(hex, "hex").toString("base64");
}

/** Accepts upper- or lowercase hex, returns lowercase; throws INVALID_MESSAGE if it is not 64 hex digits. */
export function normalizeSha256Hex(hex: string): string {
  const v = hex.trim().toLowerCase();
  if (!isSha256Hex(v)) throw new AppError("INVALID_MESSAGE", "sha256_hex must be 64 hex digits", { field: "sha256_hex" });
  return v;
}

/** Throws CHECKSUM_MISMATCH unless sha256(data) equals `expectedHex`; returns the lowercase digest. */
export function verifySha256(data: Uint8Array, expectedHex: string): string {
  const expected = normalizeSha256Hex(expectedHex);
  const actual = sha256Hex(data);
  if (actual !== expected) throw new AppError("CHECKSUM_MISMATCH", undefined, { size: data.byteLength });
  return actual;
}
