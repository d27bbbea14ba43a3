/**
 * @module ingest
 * Stores one validated blob and records its row: the two halves of an ack.
 *
 * Order matters. The blob is written first (create-only, durable), then the row is committed, so
 * a row never points at a missing file. A crash between the two leaves an unreferenced blob that
 * the client's re-send adopts (storage answers "identical", the row is then inserted). If the
 * metadata service reports a conflict that storage did not see (e.g. chunk 3 stored as .webm,
 * re-sent as .mp4), the blob this call just created is deleted again so nothing changes.
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

export type IngestItem = { ref: BlobRef; data: Uint8Array; sha256Hex: string } & (
  | { kind: "audio"; timing: AudioTiming }
  | { kind: "frame"; placement: FramePlacement }
);

/** Resolves with the combined outcome once both halves are durable; throws AppError otherwise. */
export async function ingest(storage: StorageService, metadata: MetadataService, item: IngestItem): Promise<WriteOutcome> {
  const { ref, data, sha256Hex } = item;
  const stored = await storage.put(ref, data, sha256Hex);
  if (stored.outcome === "conflict") throw indexConflict(ref);
  const common = { sessionId: ref.sessionId, location: stored.location, size: data.byteLength, mediaType: ref.mediaType, sha256Hex };
  const recorded =
    item.kind === "audio"
      ? await metadata.recordAudio({ ...common, chunkIndex: ref.index, ...item.timing })
      : await metadata.recordFrame({ ...common, frameIndex: ref.index, ...item.placement });
  if (recorded === "conflict") {
    if (stored.outcome === "created") await storage.delete(ref).catch(() => undefined);
    throw indexConflict(ref);
  }
  return stored.outcome === "created" || recorded === "created" ? "created" : "identical";
}

function indexConflict(ref: BlobRef): AppError {
  const field = ref.kind === "audio" ? "chunk_index" : "frame_index";
  return new AppError("INDEX_CONFLICT", `${field} ${ref.index} is already stored with different bytes`, { [field]: ref.index });
}
