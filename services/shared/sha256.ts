/** @module sha256 The one SHA-256 helper: lowercase hex digest, as stored per blob and sent between services. */
import { createHash } from "node:crypto";

export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}
