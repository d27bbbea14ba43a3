/**
 * @module shared/blob
 * The words the gateway and the storage and metadata services share about a blob: what names it
 * (`BlobRef`) and what a create-only write did (`WriteOutcome`). Each gRPC adapter translates
 * them to and from the wire (media.v1 BlobRef, WRITE_OUTCOME_*) once, at its boundary.
 */
import type { BlobKind } from "../../proto/wire/ids";

export type { BlobKind };

/** What storage holds: the browser's two kinds, and the manifest the gateway seals a session with. */
export type StoredKind = BlobKind | "manifest";

/** What a caller names a blob by. */
export interface BlobRef {
  /** Canonical lowercase UUID of the media session. */
  sessionId: string;
  kind: StoredKind;
  /** Chunk or frame number, a non-negative 32-bit integer. */
  index: number;
  /** audio/webm, audio/mp4 or image/jpeg, maybe with parameters ("audio/webm;codecs=opus"): decides the stored file's extension. */
  mediaType: string;
}

/**
 * What a create-only, idempotent write did:
 *  - created:   the key did not exist; it is now durable;
 *  - identical: the key existed with the same SHA-256; nothing was rewritten (a harmless re-send);
 *  - conflict:  the key existed with different bytes; the stored one is kept, the new one dropped.
 */
export type WriteOutcome = "created" | "identical" | "conflict";
