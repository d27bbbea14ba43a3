/**
 * @module metadata/core/model
 * The metadata service's domain types and its one port, `SessionRepo`. Pure: no SQL, no gRPC.
 * The records have the field names and types of the media.v1 messages, so the gRPC adapter
 * hands the decoded messages through without copying them, but nothing here imports proto/gen:
 * the adapter maps what differs (the status enum, 0 for "unset") at its boundary.
 */
import type { WriteOutcome } from "../../shared/blob";
import type { AppError } from "../../shared/errors";

export type SessionStatusName = "active" | "completed" | "abandoned";

/** A media session as the core sees it. Timestamps in Unix epoch ms, 0 when unset. */
export interface Session {
  sessionId: string;
  status: SessionStatusName;
  /** Rows actually stored (counted on "created" only), not what the client claims. */
  totalChunks: number;
  totalFrames: number;
  startedAtMs: number;
  lastActivityMs: number;
  completedAtMs: number;
  interviewSessionId: number | null;
  userId: number | null;
  /** The lease's current epoch (0: never opened since leases exist). */
  ownerEpoch: number;
  /** A gateway instance holds the lease and its heartbeat is fresh. */
  isConnected: boolean;
}

/** One audio chunk's row, as RecordBlobs receives it (media.v1 AudioChunkRecord). */
export interface AudioChunkRecord {
  sessionId: string;
  chunkIndex: number;
  filePath: string;
  fileSize: number;
  mimeType: string;
  /** Unix epoch ms; 0 = unset. */
  startTimestampMs: number;
  endTimestampMs: number;
  durationMs: number;
  sha256Hex: string;
  /** The writer's lease epoch (fencing: refused unless it is the session's current one). */
  ownerEpoch: number;
}

/** One camera frame's row, as RecordBlobs receives it (media.v1 VideoFrameRecord). */
export interface VideoFrameRecord {
  sessionId: string;
  frameIndex: number;
  /** The audio chunk the frame was taken during. */
  chunkIndex: number;
  filePath: string;
  fileSize: number;
  mimeType: string;
  /** Unix epoch ms; 0 = unset. */
  timestampMs: number;
  /** Milliseconds into the audio chunk. */
  offsetMs: number;
  sha256Hex: string;
  /** The writer's lease epoch (fencing: refused unless it is the session's current one). */
  ownerEpoch: number;
}

export type BlobItem = { kind: "audio"; record: AudioChunkRecord } | { kind: "frame"; record: VideoFrameRecord };
export type BlobKindName = BlobItem["kind"];

/** One answer per recorded item, in the order of the items. */
export type ItemResult = { outcome: WriteOutcome } | { error: AppError };

/** An interview session: what media sessions belong to and upload tokens are minted for. */
export interface InterviewSession {
  interviewSessionId: number;
  title: string;
  /** Unix epoch ms. */
  createdAtMs: number;
  /** Its own retention in days (core/retention.ts); null: the deployment's. */
  retentionDays: number | null;
  /** A legal hold blocks its erasure. */
  legalHold: boolean;
}

export interface OpenSessionInput {
  sessionId: string;
  /** undefined when the client sent none. */
  interviewSessionId?: number;
  userId?: number;
  storagePath: string;
  /** The gateway instance taking the lease. */
  ownerInstance: string;
}

export interface CompleteResult {
  session: Session;
  missingChunkIndices: number[];
  missingFrameIndices: number[];
}

/** An inclusive range of indices: [first, last], first <= last. */
export type IndexRange = [first: number, last: number];

/**
 * The indices a session has rows for (media.v1 StoredRanges): maximal runs of consecutive
 * indices, ascending, at most the lowest `max` runs per kind; `*Truncated` says there are more.
 */
export interface StoredRanges {
  chunks: IndexRange[];
  frames: IndexRange[];
  chunksTruncated: boolean;
  framesTruncated: boolean;
}

/** A session as the RecordBlobs transaction found it. */
export interface SessionRef {
  /** The repository's own id of the session (media_sessions.id). */
  id: string;
  /** Its status before this batch. */
  status: SessionStatusName;
  /** Its lease epoch, read under the row lock: records of another epoch are refused. */
  ownerEpoch: number;
}

/** A lease a gateway instance believes it holds (RenewLeases). */
export interface SessionLease {
  sessionId: string;
  ownerEpoch: number;
}

/** RenewLeases' most leases per call. */
export const MAX_RENEW_LEASES = 10_000;

/** What the RecordBlobs transaction wrote and found (`SessionRepo.writeBlobRows`). */
export interface BlobRowsWritten {
  /** The batch's sessions that exist, locked for the transaction, by session UUID. */
  sessions: ReadonlyMap<string, SessionRef>;
  /** Keys (`blobKey(SessionRef.id, kind, index)`, core/blobs.ts) of the rows this transaction inserted. */
  inserted: ReadonlySet<string>;
  /** The SHA-256 stored under every key written to, inserted now or found. */
  stored: ReadonlyMap<string, string>;
}

/** Names a blob row (LookupBlobRows): at most one row per (session, kind, index). */
export interface BlobRowKey {
  sessionId: string;
  kind: BlobKindName;
  index: number;
}

/** LookupBlobRows' most keys per call. */
export const MAX_LOOKUP_KEYS = 1000;

/**
 * Where sessions and their blob rows live (PgSessionRepo: PostgreSQL or PGlite;
 * MemorySessionRepo for unit tests). Row-level: the rules (which session accepts what, what an
 * item's answer is) are the core's (core/metadata.ts, session.ts, blobs.ts); a method applies
 * the decision it is given, atomically. Throws AppError (services/shared/errors.ts).
 */
export interface SessionRepo {
  /** Inserts an interview session (retentionDays: its own retention, null: the deployment's); returns its id. */
  createInterviewSession(title: string, retentionDays: number | null): Promise<number>;
  /** null when there is no such interview session, or its erasure was requested. */
  getInterviewSession(interviewSessionId: number): Promise<InterviewSession | null>;
  /**
   * One transaction: locks the session's row. When there is none, creates it from `input`
   * (INTERVIEW_SESSION_NOT_FOUND when `input` names an interview session that does not exist)
   * and answers `created: true`. Otherwise `decide(existing)` (which may throw) gives the
   * status the session takes; it is set, and last_activity touched. Either way the lease goes to
   * `input.ownerInstance` with the epoch one above the previous (1 for a new session), and the
   * instance's heartbeat is refreshed.
   */
  openSession(input: OpenSessionInput, decide: (existing: Session) => SessionStatusName): Promise<{ session: Session; created: boolean }>;
  /**
   * RecordBlobs' one transaction: locks the sessions `items` name, inserts the rows of those
   * whose status STATUS_AFTER_BLOB (session.ts) maps to a status (create-only: a stored row is
   * kept), moves each such session to that status, adds what was inserted to its totals and
   * touches last_activity. `items` are valid and unique per (session, kind, index): `itemsToInsert`.
   */
  writeBlobRows(items: BlobItem[]): Promise<BlobRowsWritten>;
  /**
   * One transaction: marks the session completed unless it already is; null when it does not
   * exist; AppError SESSION_TAKEN_OVER (changing nothing) when `ownerEpoch` is not the session's
   * current epoch. Returns the stored indices below the claimed totals.
   */
  completeSession(sessionId: string, claimedChunks: number, claimedFrames: number, ownerEpoch: number): Promise<{ session: Session; chunkIndices: number[]; frameIndices: number[] } | null>;
  /** null when there is no such session. */
  getSession(sessionId: string): Promise<Session | null>;
  /** Active sessions idle for more than idleMs become abandoned (at most `limit`); returns their ids. */
  abandonIdleSessions(idleMs: number, limit: number): Promise<string[]>;
  /**
   * For each key (valid, at most MAX_LOOKUP_KEYS), the file_path of its row, or null when there
   * is none (no such session, or no such row); answers in the keys' order, from one query.
   */
  lookupBlobRows(keys: readonly BlobRowKey[]): Promise<(string | null)[]>;

  /**
   * The session's stored chunk and frame indices as ranges, at most `maxRanges` per kind (the
   * lowest). Reads only this session's rows, so its cost does not grow with the tables.
   * Empty lists when there is no such session.
   */
  storedRanges(sessionId: string, maxRanges: number): Promise<StoredRanges>;
  /**
   * Refreshes `ownerInstance`'s heartbeat and answers the sessions of `leases` whose lease it no
   * longer holds (another epoch or owner, released, or no such session). Reads, never locks,
   * the sessions: one write per call.
   */
  renewLeases(ownerInstance: string, leases: readonly SessionLease[]): Promise<string[]>;
  /** Clears the lease's owner if it is still (`ownerInstance`, `ownerEpoch`); true when it was. */
  releaseSession(sessionId: string, ownerEpoch: number, ownerInstance: string): Promise<boolean>;
  /** True when the database answers. */
  ping(): Promise<boolean>;
}
