/**
 * @module blob-ref
 * Names of blobs and where they live. Pure: no I/O.
 *
 * Layout (the same on disk and in S3, under an optional prefix):
 *   <session_id>/audio/chunk_<N>.<ext>   ext from media_type: audio/webm -> webm, audio/mp4 -> mp4
 *   <session_id>/frames/frame_<N>.jpg    media_type must be image/jpeg
 *   <session_id>/manifest.json          the sealed manifest: index 0, application/json
 * N is the decimal index without padding. session_id must be a canonical lowercase UUID, so a
 * key can never contain "..", "/" or anything else that escapes its session folder.
 *
 * @example
 * checkRef({ sessionId: "0b6f…", kind: "audio", index: 3, mediaType: "audio/webm;codecs=opus" })
 * // -> { ref, dir: "0b6f…/audio", name: "chunk_3.webm", key: "0b6f…/audio/chunk_3.webm" }
 */
import { isBlobIndex, isCanonicalUuid } from "../../../proto/wire/ids";
import { AppError } from "../../shared/errors";
import type { BlobRef, StoredKind } from "../../shared/blob";

export type { BlobRef, StoredKind };

/** A ref that has been validated, with its place in the layout. Only `checkRef` makes one. */
export interface CheckedRef {
  ref: BlobRef;
  /** "<session>/audio" or "<session>/frames", relative to the storage root. */
  dir: string;
  /** "chunk_<N>.<ext>" or "frame_<N>.jpg". */
  name: string;
  /** `${dir}/${name}`. */
  key: string;
}

/** Extension of each accepted media type, per kind. */
export const EXTENSIONS: Readonly<Record<StoredKind, Readonly<Record<string, string>>>> = {
  audio: { "audio/webm": "webm", "audio/mp4": "mp4" },
  frame: { "image/jpeg": "jpg" },
  manifest: { "application/json": "json" },
};
export const MANIFEST_NAME = "manifest.json";

/** "Audio/WebM; codecs=opus" -> "audio/webm". */
export function baseMediaType(mediaType: string): string {
  return (mediaType.split(";")[0] ?? "").trim().toLowerCase();
}

/** The extension for a kind/media type pair; throws INVALID_MESSAGE for any other combination. */
export function extensionFor(kind: StoredKind, mediaType: string): string {
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

/** Validates every field of a ref, once, and places it in the layout; throws AppError. */
export function checkRef(ref: BlobRef): CheckedRef {
  if (!isCanonicalUuid(ref.sessionId)) throw new AppError("INVALID_SESSION_ID", undefined, { field: "session_id" });
  if (!isBlobIndex(ref.index)) throw new AppError("INVALID_MESSAGE", "index must be a non-negative 32-bit integer", { field: "index" });
  const ext = extensionFor(ref.kind, ref.mediaType);
  if (ref.kind === "manifest") {
    if (ref.index !== 0) throw new AppError("INVALID_MESSAGE", "a manifest's index is 0", { field: "index" });
    return { ref, dir: ref.sessionId, name: MANIFEST_NAME, key: `${ref.sessionId}/${MANIFEST_NAME}` };
  }
  const dir = `${ref.sessionId}/${ref.kind === "audio" ? "audio" : "frames"}`;
  const name = ref.kind === "audio" ? `chunk_${ref.index}.${ext}` : `frame_${ref.index}.${ext}`;
  return { ref, dir, name, key: `${dir}/${name}` };
}

/** The full key relative to the storage root (validates the ref). */
export function blobKey(ref: BlobRef): string {
  return checkRef(ref).key;
}

/** "chunk_<N>.<ext>" / "frame_<N>.<ext>": N decimal without padding (as checkRef writes it). */
const NAME_RE = /^(chunk|frame)_(0|[1-9][0-9]{0,9})\.([a-z0-9]+)$/;

/**
 * The inverse of `checkRef`: a key of the layout ("<session>/audio/chunk_3.webm") back to its
 * ref, with the media type its extension stands for; null for any other name (temp files, stray
 * files, a folder name that is not a canonical UUID). `checkRef(parseBlobKey(k).ref).key === k`.
 */
export function parseBlobKey(key: string): CheckedRef | null {
  const parts = key.split("/");
  if (parts.length === 2 && parts[1] === MANIFEST_NAME && isCanonicalUuid(parts[0])) {
    return { ref: { sessionId: parts[0]!, kind: "manifest", index: 0, mediaType: "application/json" }, dir: parts[0]!, name: MANIFEST_NAME, key };
  }
  if (parts.length !== 3) return null;
  const [sessionId, folder, name] = parts as [string, string, string];
  if (!isCanonicalUuid(sessionId)) return null;
  const m = NAME_RE.exec(name);
  if (!m) return null;
  const kind: StoredKind | null = m[1] === "chunk" && folder === "audio" ? "audio" : m[1] === "frame" && folder === "frames" ? "frame" : null;
  if (!kind) return null;
  const index = Number(m[2]);
  if (!isBlobIndex(index)) return null;
  const mediaType = Object.entries(EXTENSIONS[kind]).find(([, ext]) => ext === m[3])?.[0];
  if (!mediaType) return null;
  return { ref: { sessionId, kind, index, mediaType }, dir: `${sessionId}/${folder}`, name, key };
}
