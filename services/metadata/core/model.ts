/**
 * @module metadata/core/model
 * The metadata service's domain types and its one port, `SessionRepo`. Pure: no SQL, no gRPC.
 * Records use the generated proto message shapes (type-only imports) so nothing is copied
 * field by field between the transport and the repository.
 */
import type { AppError } from "../../shared/errors";
import type { AudioChunkRecord, SessionInfo, VideoFrameRecord } from "../../../proto/gen/media/v1/metadata";

export type { AudioChunkRecord, SessionInfo, VideoFrameRecord };

export type SessionStatusName = "active" | "completed" | "abandoned";

export type BlobItem = { kind: "audio"; record: AudioChunkRecord } | { kind: "frame"; record: VideoFrameRecord };
export type BlobKindName = BlobItem["kind"];

export type OutcomeName = "CREATED" | "IDENTICAL" | "CONFLICT";
/** One answer per recorded item, in the order of the items. */
export type ItemResult = { outcome: OutcomeName } | { error: AppError };

export interface OpenSessionInput {
  sessionId: string;
  /** undefined when the client sent none. */
  interviewSessionId?: number;
  userId?: number;
  storagePath: string;
}

export interface CompleteResult {
  session: SessionInfo;
  missingChunkIndices: number[];
  missingFrameIndices: number[];
}

/**
 * Where sessions and their blob rows live (PgSessionRepo: PostgreSQL or PGlite).
 * Every method throws AppError for the caller's mistakes (codes from services/shared/errors.ts).
 */
export interface SessionRepo {
  /** CreateInterviewSession: returns the new id. */
  createInterviewSession(title: string): Promise<number>;
  /** OpenSession: creates the media session or resumes it (reconnect). */
  openSession(input: OpenSessionInput): Promise<{ session: SessionInfo; resumed: boolean }>;
  /**
   * RecordBlobs: records many items in ONE transaction (group commit) and answers each item.
   * Resolves only after the commit; per-item failures are results, not rejections.
   */
  recordBlobs(items: BlobItem[]): Promise<ItemResult[]>;
  /** CompleteSession: idempotent; missing indices are computed against the claimed totals. */
  completeSession(sessionId: string, claimedChunks: number, claimedFrames: number): Promise<CompleteResult>;
  /** GetSessionStatus. */
  getSessionStatus(sessionId: string): Promise<SessionInfo>;
  /** AbandonIdleSessions: active sessions idle for more than idleMs become abandoned; returns their ids. */
  abandonIdleSessions(idleMs: number, limit: number): Promise<string[]>;
  /** True when the database answers. */
  ping(): Promise<boolean>;
}
