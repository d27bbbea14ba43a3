/**
 * @module ports
 * What the gateway core needs from the outside world. The gRPC clients in ../adapters implement
 * these; unit tests use in-memory fakes.
 */
import type { BlobKind } from "../../../proto/wire";

export type WriteOutcome = "created" | "identical" | "conflict";

export interface BlobRef {
  sessionId: string;
  kind: BlobKind;
  index: number;
  /** audio/webm, audio/mp4 or image/jpeg: decides the stored file's extension. */
  mediaType: string;
}

/** The storage service. put is create-only: an existing blob is never overwritten. */
export interface BlobStorage {
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
}

export interface CompleteResult {
  session: SessionSummary;
  missingChunks: number[];
  missingFrames: number[];
}

/** The metadata service. record* are idempotent per (session, index). */
export interface MetadataStore {
  openSession(p: { sessionId: string; interviewSessionId: number | null; userId: number | null; storagePath: string }): Promise<{ resumed: boolean }>;
  recordAudio(r: AudioRecord): Promise<WriteOutcome>;
  recordFrame(r: FrameRecord): Promise<WriteOutcome>;
  completeSession(p: { sessionId: string; totalChunks: number; totalFrames: number }): Promise<CompleteResult>;
}
