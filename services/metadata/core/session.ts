/**
 * @module metadata/core/session
 * Session rules and row <-> proto mapping: what OpenSession does with an existing session, which
 * sessions accept blobs, and how a media_sessions row becomes a SessionInfo.
 */
import { AppError } from "../../shared/errors";
import type { OpenSessionInput, SessionInfo, SessionStatusName } from "./model";

/** media_sessions as postgres.js returns it (BIGINT columns arrive as strings). */
export interface SessionRow {
  id: string | number;
  session_id: string;
  interview_session_id: string | number | null;
  user_id: string | number | null;
  status: SessionStatusName;
  total_chunks: number;
  total_frames: number;
  storage_path: string;
  started_at: Date | null;
  last_activity: Date | null;
  completed_at: Date | null;
}

/** SessionStatus enum values of media/v1/metadata.proto. */
const STATUS_TO_PROTO = { active: 1, completed: 2, abandoned: 3 } as const;

/** Canonical lowercase UUID (8-4-4-4-12 hex digits), as the gateway validates it. */
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isCanonicalUuid(s: string): boolean {
  return UUID_RE.test(s);
}

export function requireSessionId(sessionId: string): string {
  if (!isCanonicalUuid(sessionId)) throw new AppError("INVALID_SESSION_ID", undefined, { field: "session_id" });
  return sessionId;
}

/** Date (or null) -> Unix epoch milliseconds; 0 when unset, as the proto documents. */
export function dateToMs(d: Date | null | undefined): number {
  return d ? d.getTime() : 0;
}

/** Unix epoch milliseconds -> ISO string for a TIMESTAMPTZ column; 0 (unset) and invalid -> null. */
export function msToIso(ms: number): string | null {
  if (!Number.isFinite(ms) || ms <= 0) return null;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

function num(v: string | number | null): number {
  return v === null ? 0 : Number(v);
}

export function rowToSessionInfo(row: SessionRow): SessionInfo {
  return {
    sessionId: row.session_id,
    status: STATUS_TO_PROTO[row.status],
    totalChunks: Number(row.total_chunks),
    totalFrames: Number(row.total_frames),
    startedAtMs: dateToMs(row.started_at),
    lastActivityMs: dateToMs(row.last_activity),
    completedAtMs: dateToMs(row.completed_at),
    interviewSessionId: num(row.interview_session_id),
    userId: num(row.user_id),
  };
}

export type OpenDecision = "resume" | "reactivate";

/**
 * What OpenSession does with a session that already exists. Throws SESSION_MISMATCH when the
 * client names another interview session, SESSION_COMPLETED when it is over; an abandoned
 * session (idle, reaped) comes back to life.
 */
export function decideOpen(existing: Pick<SessionRow, "status" | "interview_session_id">, input: OpenSessionInput): OpenDecision {
  if (input.interviewSessionId !== undefined) {
    const stored = existing.interview_session_id === null ? null : Number(existing.interview_session_id);
    if (stored !== input.interviewSessionId) {
      throw new AppError("SESSION_MISMATCH", "the session exists with another interview_session_id", { field: "interview_session_id" });
    }
  }
  if (existing.status === "completed") throw new AppError("SESSION_COMPLETED");
  return existing.status === "abandoned" ? "reactivate" : "resume";
}

/** Whether a session accepts blobs: unknown and completed sessions do not; abandoned ones are revived. */
export function admitBlob(status: SessionStatusName | undefined): AppError | null {
  if (status === undefined) return new AppError("SESSION_NOT_FOUND");
  if (status === "completed") return new AppError("SESSION_COMPLETED");
  return null;
}
