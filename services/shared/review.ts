/**
 * @module shared/review
 * The words the gateway and the metadata service share about what reviewers read
 * (media.v1.ReviewService): an interview, its media sessions, a session's stored chunks and
 * frames. Types only; the gRPC adapters translate them once at their boundary.
 */

export interface InterviewSummary {
  interviewSessionId: number;
  title: string;
  createdAtMs: number;
  mediaSessions: number;
  /** 0: no media session yet. */
  lastActivityMs: number;
  /** Erasure and retention are refused while held (docs/retention.md). */
  legalHold: boolean;
  /** The interview's own retention in days; 0: the deployment's (CANDID_RETENTION_DAYS). */
  retentionDays: number;
}

export interface ReviewSession {
  sessionId: string;
  userId: number;
  status: string;
  startedAtMs: number;
  lastActivityMs: number;
  totalChunks: number;
  totalFrames: number;
  storedChunks: number;
  storedFrames: number;
  durationMs: number;
  /** "" while not sealed. */
  manifestSha256: string;
  sealedAtMs: number;
}

export interface StoredChunk {
  chunkIndex: number;
  mediaType: string;
  filePath: string;
  fileSize: number;
  sha256Hex: string;
  startMs: number;
  endMs: number;
  durationMs: number;
}

export interface StoredFrame {
  frameIndex: number;
  chunkIndex: number;
  mediaType: string;
  filePath: string;
  fileSize: number;
  sha256Hex: string;
  timestampMs: number;
  offsetMs: number;
}

export interface SessionItemsPage {
  chunks: StoredChunk[];
  frames: StoredFrame[];
  moreChunks: boolean;
  moreFrames: boolean;
  /** The seal: SHA-256 of the session's manifest, "" while not sealed. */
  manifestSha256: string;
}
