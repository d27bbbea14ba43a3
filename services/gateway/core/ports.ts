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
  /** The writer's lease epoch (openSession's ownerEpoch): refused (SESSION_TAKEN_OVER) once another connection holds the session. */
  ownerEpoch: number;
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
  /** The writer's lease epoch (openSession's ownerEpoch): refused (SESSION_TAKEN_OVER) once another connection holds the session. */
  ownerEpoch: number;
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
  /** A gateway (any replica) holds the session's lease and its heartbeat is fresh. */
  isConnected: boolean;
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

export interface OpenSessionParams {
  sessionId: string;
  interviewSessionId: number | null;
  userId: number | null;
  storagePath: string;
  /** The gateway instance taking the lease (GATEWAY_INSTANCE_ID). */
  ownerInstance: string;
}

/** A lease this gateway holds: the session and the epoch its openSession got. */
export interface SessionLease {
  sessionId: string;
  ownerEpoch: number;
}

/** The remote metadata service (media.v1.MetadataService). record* are idempotent per (session, index). */
export interface MetadataService {
  /**
   * Opens (or resumes) the session and gives its lease to `ownerInstance` under a new epoch, which
   * every record of this connection then carries. `stored`: set when resumed (null or absent for a
   * new session, or from a metadata service that does not report it).
   */
  openSession(p: OpenSessionParams): Promise<{ resumed: boolean; stored?: StoredSummary | null; ownerEpoch: number }>;
  recordAudio(r: AudioRecord): Promise<WriteOutcome>;
  recordFrame(r: FrameRecord): Promise<WriteOutcome>;
  /** Fenced like records: SESSION_TAKEN_OVER unless `ownerEpoch` is the session's current one. */
  completeSession(p: { sessionId: string; totalChunks: number; totalFrames: number; ownerEpoch: number }): Promise<CompleteResult>;
  /** The instance's heartbeat; answers which of `leases` it no longer holds. */
  renewLeases(ownerInstance: string, leases: readonly SessionLease[]): Promise<string[]>;
  /** Gives a lease up; false when it had already moved on. */
  releaseSession(p: SessionLease & { ownerInstance: string }): Promise<boolean>;
  /** The session's state and owner; throws AppError SESSION_NOT_FOUND when there is none. */
  status(sessionId: string): Promise<SessionSummary>;
  /** Stores a capture_event; fenced like records (SESSION_TAKEN_OVER), idempotent per (session, event_index). */
  recordCaptureEvent(e: CaptureEventRecord): Promise<WriteOutcome>;
}

export interface CaptureEventRecord {
  sessionId: string;
  eventIndex: number;
  kind: string;
  phase: string;
  atMs: number;
  /** Compact JSON object, "" for none. */
  detailJson: string;
  ownerEpoch: number;
}

/** An erasure as the gateway answers it (DELETE /interview-sessions/{id}). */
export interface ErasureSummary {
  erasureId: number;
  state: "pending" | "running" | "done";
}

/**
 * Retention and erasure of interviews (media.v1.RetentionService, served by metadata). Once an
 * erasure is requested, the interview answers INTERVIEW_SESSION_NOT_FOUND (getInterviewSession)
 * and its media sessions SESSION_NOT_FOUND (status) everywhere.
 */
export interface InterviewRetention {
  /** Idempotent: the erasure requested before, if any. AppError LEGAL_HOLD / INTERVIEW_SESSION_NOT_FOUND. */
  requestErasure(interviewSessionId: number, apiKeyId: string): Promise<ErasureSummary>;
  /** The hold after the call. */
  setLegalHold(interviewSessionId: number, hold: boolean): Promise<boolean>;
  /** The retention after the call (null: the deployment's). */
  setRetention(interviewSessionId: number, days: number | null): Promise<number | null>;
}
