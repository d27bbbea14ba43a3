/**
 * @module ports
 * What the gateway core needs from the outside world: the two remote services. The gRPC clients
 * in ../adapters implement these; unit tests use in-memory fakes. Blobs are named and outcomes
 * spelled as everywhere else (services/shared/blob.ts).
 */
import type { IndexRange } from "../../../proto/wire";
import type { BlobRef, WriteOutcome } from "../../shared/blob";

/** The remote storage service (media.v1.StorageService). put is create-only: an existing blob is never overwritten. */
export interface StorageService {
  put(ref: BlobRef, data: Uint8Array, sha256Hex: string): Promise<{ outcome: WriteOutcome; location: string }>;
  delete(ref: BlobRef): Promise<void>;
}

export interface AudioRecord {
  sessionId: string;
  chunkIndex: number;
  location: string;
  size: number;
  mediaType: string;
  startMs: number;
  endMs: number;
  durationMs: number;
  sha256Hex: string;
}

export interface FrameRecord {
  sessionId: string;
  frameIndex: number;
  chunkIndex: number;
  location: string;
  size: number;
  mediaType: string;
  timestampMs: number;
  offsetMs: number;
  sha256Hex: string;
}

export interface SessionSummary {
  sessionId: string;
  status: "active" | "completed" | "abandoned";
  totalChunks: number;
  totalFrames: number;
  startedAtMs: number;
  lastActivityMs: number;
  /** Who the session belongs to (authorize.ts SessionOwner); null: a session made before upload tokens. */
  interviewSessionId: number | null;
  userId: number | null;
}

export interface CompleteResult {
  session: SessionSummary;
  missingChunks: number[];
  missingFrames: number[];
}

/**
 * What a resumed session holds (media.v1 StoredRanges): inclusive [first, last] runs of stored
 * indices, ascending, at most the lowest 1,000 per kind; `truncated` when either list was cut.
 */
export interface StoredSummary {
  chunks: IndexRange[];
  frames: IndexRange[];
  truncated: boolean;
}

/** The remote metadata service (media.v1.MetadataService). record* are idempotent per (session, index). */
export interface MetadataService {
  /** `stored`: set when resumed (null or absent for a new session, or from a metadata service that does not report it). */
  openSession(p: { sessionId: string; interviewSessionId: number | null; userId: number | null; storagePath: string }): Promise<{ resumed: boolean; stored?: StoredSummary | null }>;
  recordAudio(r: AudioRecord): Promise<WriteOutcome>;
  recordFrame(r: FrameRecord): Promise<WriteOutcome>;
  completeSession(p: { sessionId: string; totalChunks: number; totalFrames: number }): Promise<CompleteResult>;
  /** The session's state and owner; throws AppError SESSION_NOT_FOUND when there is none. */
  status(sessionId: string): Promise<SessionSummary>;
}
