/**
 * @module binary-frame
 * The browser → gateway binary frame of the Candid WebSocket protocol. Byte layout (big-endian):
 *
 *   offset  size  field
 *   0       36    session_id   ASCII, canonical lowercase UUID "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
 *   36      1     type         'a' (0x61) = audio chunk, 'f' (0x66) = camera frame
 *   37      4     index        uint32: chunk_index for 'a', frame_index for 'f'
 *   41      n     blob         the media bytes (WebM/MP4 audio, JPEG frame), n >= 0
 *
 * Pure and dependency-free: the gateway and the web client both import it.
 */
import { WireError } from "./errors";
import { type BlobKind, isBlobIndex, isCanonicalUuid } from "./ids";

export const SESSION_ID_BYTES = 36;
export const HEADER_BYTES = 41;

const TYPE_BYTE: Record<BlobKind, number> = { audio: 0x61, frame: 0x66 };

export interface BinaryFrame {
  sessionId: string;
  kind: BlobKind;
  index: number;
  /** A view into the received buffer: no copy. */
  blob: Uint8Array;
}

/**
 * Writes the 41-byte header into `out` (at offset 0). The browser sends header and blob as one
 * `new Blob([header, blob])`, so the blob bytes are never copied in JavaScript.
 */
export function encodeHeader(sessionId: string, kind: BlobKind, index: number, out: Uint8Array = new Uint8Array(HEADER_BYTES)): Uint8Array {
  if (!isCanonicalUuid(sessionId)) throw new WireError("INVALID_SESSION_ID", "session_id must be a canonical lowercase UUID");
  if (!isBlobIndex(index)) throw new WireError("INVALID_MESSAGE", "index must be a uint32", { field: "index" });
  for (let i = 0; i < SESSION_ID_BYTES; i++) out[i] = sessionId.charCodeAt(i);
  out[36] = TYPE_BYTE[kind];
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(37, index, false);
  return out;
}

/** Header + blob in one buffer (a copy of the blob): for clients that send one ArrayBuffer. */
export function encodeBinaryFrame(sessionId: string, kind: BlobKind, index: number, blob: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + blob.byteLength);
  encodeHeader(sessionId, kind, index, out);
  out.set(blob, HEADER_BYTES);
  return out;
}

/** Parses a binary frame; throws WireError MALFORMED_BINARY_HEADER when the header is unusable. */
export function decodeBinaryFrame(buf: Uint8Array): BinaryFrame {
  if (buf.byteLength < HEADER_BYTES) {
    throw new WireError("MALFORMED_BINARY_HEADER", `binary frame of ${buf.byteLength} bytes is shorter than the ${HEADER_BYTES}-byte header`);
  }
  let sessionId = "";
  for (let i = 0; i < SESSION_ID_BYTES; i++) sessionId += String.fromCharCode(buf[i]!);
  if (!isCanonicalUuid(sessionId)) throw new WireError("MALFORMED_BINARY_HEADER", "binary header session_id is not a canonical lowercase UUID");
  const t = buf[36];
  const kind: BlobKind | undefined = t === 0x61 ? "audio" : t === 0x66 ? "frame" : undefined;
  if (!kind) throw new WireError("MALFORMED_BINARY_HEADER", "binary header type must be 'a' or 'f'");
  const index = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(37, false);
  return { sessionId, kind, index, blob: buf.subarray(HEADER_BYTES) };
}
