/**
 * @module wire
 * Binary framing of the browser → gateway media blobs (see the WebSocket protocol spec):
 *
 *   offset 0   36 bytes  session_id, ASCII, lowercase UUID v4 with dashes
 *   offset 36   1 byte   kind: 'a' (0x61) audio chunk, 'f' (0x66) video frame
 *   offset 37   4 bytes  index, uint32 big-endian (chunk_index or frame_index)
 *   offset 41   …        the blob (WebM/MP4 audio or JPEG)
 *
 * Each binary message follows the JSON metadata message describing the same item.
 * Kept pure (no DOM) so it is unit-tested byte for byte; the gateway has its own codec in proto/wire.
 */

export const HEADER_BYTES = 41;
export type BlobKind = 'audio' | 'frame';
const KIND_BYTE: Record<BlobKind, number> = { audio: 0x61, frame: 0x66 };
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class WireError extends Error {
  constructor(readonly code: 'INVALID_SESSION_ID' | 'INVALID_INDEX' | 'INVALID_HEADER', message?: string) {
    super(message ?? code);
    this.name = 'WireError';
  }
}

/** The 41-byte header that precedes a blob. */
export function encodeHeader(sessionId: string, kind: BlobKind, index: number): Uint8Array {
  if (!UUID_RE.test(sessionId)) throw new WireError('INVALID_SESSION_ID', `not a lowercase uuid: ${sessionId}`);
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) throw new WireError('INVALID_INDEX', `bad index ${index}`);
  const out = new Uint8Array(HEADER_BYTES);
  for (let i = 0; i < 36; i++) out[i] = sessionId.charCodeAt(i);
  out[36] = KIND_BYTE[kind];
  new DataView(out.buffer).setUint32(37, index, false);
  return out;
}

/** Inverse of encodeHeader; used by tests and by the fake gateway in unit tests. */
export function decodeHeader(bytes: Uint8Array): { sessionId: string; kind: BlobKind; index: number } {
  if (bytes.length < HEADER_BYTES) throw new WireError('INVALID_HEADER', `need ${HEADER_BYTES} bytes, got ${bytes.length}`);
  const sessionId = String.fromCharCode(...bytes.subarray(0, 36));
  const k = bytes[36];
  const kind: BlobKind | undefined = k === 0x61 ? 'audio' : k === 0x66 ? 'frame' : undefined;
  if (!kind) throw new WireError('INVALID_HEADER', `bad kind byte ${k}`);
  const index = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(37, false);
  return { sessionId, kind, index };
}
