/**
 * @module ingest
 * Stores one validated blob and records its row: the two halves of an ack.
 *
 * Order matters. The blob is written first (create-only, durable), then the row is committed, so
 * a row never points at a missing file. A crash between the two leaves an unreferenced blob that
 * the client's re-send adopts (storage answers "identical", the row is then inserted), or that
 * the reaper's orphan sweeper deletes once it is older than its grace period.
 *
 * When the metadata service REFUSES the row of a blob this call just created, the blob is deleted
 * again at once, so nothing changes: a conflict storage did not see (chunk 3 stored as .webm,
 * re-sent as .mp4), a value PostgreSQL refuses (INVALID_MESSAGE), a session that is gone or
 * completed. Not when the session was taken over (SESSION_TAKEN_OVER): the connection that holds
 * it now may have stored the same bytes under the same key meanwhile (storage answered it
 * "identical") and committed its row, which the delete would leave without its blob; an
 * unreferenced blob left behind is the sweeper's. Not when the call merely failed (UPSTREAM_UNAVAILABLE: metadata down, a timeout, a
 * broken stream; INTERNAL: an unknown failure): the row may have committed before the answer was
 * lost, and deleting would leave a row without its blob. Those are left to the sweeper, which
 * re-checks the row before it deletes.
 */
import { AppError } from "../../shared/errors";
import type { BlobRef, WriteOutcome } from "../../shared/blob";
import type { MetadataService, StorageService } from "./ports";

export interface AudioTiming {
  startMs: number;
  endMs: number;
  durationMs: number;
}

export interface FramePlacement {
  chunkIndex: number;
  timestampMs: number;
  offsetMs: number;
}

/** `ownerEpoch`: the connection's lease epoch, carried by the row (fencing). */
export type IngestItem = { ref: BlobRef; data: Uint8Array; sha256Hex: string; ownerEpoch: number } & (
  | { kind: "audio"; timing: AudioTiming }
  | { kind: "frame"; placement: FramePlacement }
);

/** Resolves with the combined outcome once both halves are durable; throws AppError otherwise. */
export async function ingest(storage: StorageService, metadata: MetadataService, item: IngestItem): Promise<WriteOutcome> {
  const { ref, data, sha256Hex, ownerEpoch } = item;
  const stored = await storage.put(ref, data, sha256Hex);
  if (stored.outcome === "conflict") throw indexConflict(ref);
  const common = { sessionId: ref.sessionId, location: stored.location, size: data.byteLength, mediaType: ref.mediaType, sha256Hex, ownerEpoch };
  let recorded: WriteOutcome;
  try {
    recorded =
      item.kind === "audio"
        ? await metadata.recordAudio({ ...common, chunkIndex: ref.index, ...item.timing })
        : await metadata.recordFrame({ ...common, frameIndex: ref.index, ...item.placement });
  } catch (err) {
    if (stored.outcome === "created" && isRefusal(err)) await storage.delete(ref).catch(() => undefined);
    throw err;
  }
  if (recorded === "conflict") {
    if (stored.outcome === "created") await storage.delete(ref).catch(() => undefined);
    throw indexConflict(ref);
  }
  return stored.outcome === "created" || recorded === "created" ? "created" : "identical";
}

/**
 * True when the metadata service answered and said no, and the blob is this call's alone to take
 * back. A failed call (UPSTREAM_UNAVAILABLE, INTERNAL, anything not an AppError) may have
 * committed the row; a takeover (SESSION_TAKEN_OVER) may share the blob with the new owner.
 */
export function isRefusal(err: unknown): boolean {
  return err instanceof AppError && err.code !== "UPSTREAM_UNAVAILABLE" && err.code !== "INTERNAL" && err.code !== "SESSION_TAKEN_OVER";
}

function indexConflict(ref: BlobRef): AppError {
  const field = ref.kind === "audio" ? "chunk_index" : "frame_index";
  return new AppError("INDEX_CONFLICT", `${field} ${ref.index} is already stored with different bytes`, { [field]: ref.index });
}
