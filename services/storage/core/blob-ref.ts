/**
 * @module blob-ref
 * Names of blobs and where they live. Pure: no I/O.
 *
 * Layout (the same on disk and in S3, under an optional prefix):
 *   <session_id>/audio/chunk_<N>.<ext>   ext from media_type: audio/webm -> webm, audio/mp4 -> mp4
 *   <session_id>/frames/frame_<N>.jpg    media_type must be image/jpeg
 * N is the decimal index without padding. session_id must be a canonical lowercase UUID, so a
 * key can never contain "..", "/" or anything else that escapes its session folder.
 *
 * @example
 * blobKey({ sessionId: "0b6f…", kind: "audio", index: 3, mediaType: "audio/webm;codecs=opus" })
 * // -> "0b6f…/audio/chunk_3.webm"
 */
import { AppError } from "../../shared/errors";

export type SessionId = string & { readonly __brand: "SessionId" };
export type BlobKind = "audio" | "frame";

/** What a caller names a blob by. `mediaType` may carry parameters ("audio/webm;codecs=opus"). */
export interface BlobRef {
  sessionId: string;
  kind: BlobKind;
  /** Chunk or frame number, a non-negative 32-bit integer. */
  index: number;
  mediaType: string;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Extension of each accepted media type, per kind. */
export const EXTENSIONS: Readonly<Record<BlobKind, Readonly<Record<string, string>>>> = {
  audio: { "audio/webm": "webm", "audio/mp4": "mp4" },
  frame: { "image/jpeg": "jpg" },
};

const MAX_INDEX = 0xffff_ffff;

export function parseSessionId(v: string): SessionId {
  if (!UUID_RE.test(v)) throw new AppError("INVALID_SESSION_ID", undefined, { field: "session_id" });
  return v as SessionId;
}

/** "Audio/WebM; codecs=opus" -> "audio/webm". */
export function baseMediaType(mediaType: string): string {
  return (mediaType.split(";")[0] ?? "").trim().toLowerCase();
}

/** The extension for a kind/media type pair; throws INVALID_MESSAGE for any other combination. */
export function extensionFor(kind: BlobKind, mediaType: string): string {
  const table = EXTENSIONS[kind];
  if (!table) throw new AppError("INVALID_MESSAGE", `unknown blob kind ${JSON.stringify(kind)}`, { field: "kind" });
  const ext = table[baseMediaType(mediaType)];
  if (!ext) {
    throw new AppError("INVALID_MESSAGE", `media_type ${JSON.stringify(mediaType)} is not valid for ${kind} (expected ${Object.keys(table).join(" or ")})`, {
      field: "media_type",
    });
  }
  return ext;
}

/** Validates every field of a ref; returns it unchanged or throws AppError. */
export function validateRef(ref: BlobRef): BlobRef {
  parseSessionId(ref.sessionId);
  if (!Number.isInteger(ref.index) || ref.index < 0 || ref.index > MAX_INDEX) {
    throw new AppError("INVALID_MESSAGE", "index must be a non-negative 32-bit integer", { field: "index" });
  }
  extensionFor(ref.kind, ref.mediaType);
  return ref;
}

/** The folder of a ref relative to the storage root: "<session>/audio" or "<session>/frames". */
export function blobDir(ref: BlobRef): string {
  parseSessionId(ref.sessionId);
  return `${ref.sessionId}/${ref.kind === "audio" ? "audio" : "frames"}`;
}

/** The file name inside blobDir: "chunk_<N>.<ext>" or "frame_<N>.jpg". */
export function blobFileName(ref: BlobRef): string {
  validateRef(ref);
  const ext = extensionFor(ref.kind, ref.mediaType);
  return ref.kind === "audio" ? `chunk_${ref.index}.${ext}` : `frame_${ref.index}.${ext}`;
}

/** The full key relative to the storage root (validates the ref). */
export function blobKey(ref: BlobRef): string {
  return `${blobDir(ref)}/${blobFileName(ref)}`;
}
