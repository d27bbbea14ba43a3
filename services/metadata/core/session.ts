/**
 * @module metadata/core/session
 * The session rules, written once: which sessions accept blobs and what a blob does to them, and
 * what OpenSession does with a session that already exists. The repositories apply these
 * decisions (PgSessionRepo hands STATUS_AFTER_BLOB to its SQL as a parameter).
 */
import { isCanonicalUuid } from "../../../proto/wire/ids";
import { AppError } from "../../shared/errors";
import type { OpenSessionInput, Session, SessionStatusName } from "./model";

/**
 * What a blob does to its session: the status the session takes, or null when it accepts no
 * blobs. An abandoned session (idle, reaped) comes back to life when its client sends again.
 */
export const STATUS_AFTER_BLOB: Readonly<Record<SessionStatusName, SessionStatusName | null>> = {
  active: "active",
  abandoned: "active",
  completed: null,
};

export function requireSessionId(sessionId: string): string {
  if (!isCanonicalUuid(sessionId)) throw new AppError("INVALID_SESSION_ID", undefined, { field: "session_id" });
  return sessionId;
}

/**
 * The status an existing session takes on OpenSession (a reconnect). Throws SESSION_MISMATCH
 * when the caller names another interview session or another user than the session's (the
 * gateway always names both, from the upload token, so a session never changes hands), and
 * SESSION_COMPLETED when it is over; an abandoned session comes back to life.
 */
export function decideOpen(existing: Pick<Session, "status" | "interviewSessionId" | "userId">, input: OpenSessionInput): SessionStatusName {
  if (input.interviewSessionId !== undefined && existing.interviewSessionId !== input.interviewSessionId) {
    throw new AppError("SESSION_MISMATCH", "the session exists with another interview_session_id", { field: "interview_session_id" });
  }
  if (input.userId !== undefined && existing.userId !== input.userId) {
    throw new AppError("SESSION_MISMATCH", "the session exists with another user_id", { field: "user_id" });
  }
  if (existing.status === "completed") throw new AppError("SESSION_COMPLETED");
  return "active";
}

/** Whether a session accepts blobs (see STATUS_AFTER_BLOB): null when it does. */
export function admitBlob(status: SessionStatusName | undefined): AppError | null {
  if (status === undefined) return new AppError("SESSION_NOT_FOUND");
  if (STATUS_AFTER_BLOB[status] === null) return new AppError("SESSION_COMPLETED");
  return null;
}
