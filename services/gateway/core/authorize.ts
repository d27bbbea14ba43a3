/**
 * @module authorize
 * What a verified upload token allows: the pure decisions behind session_init and the status
 * route (issue 14, part 4). No I/O: the caller verifies the token (tokens.ts) and looks up the
 * existing session's owner, then asks here.
 *
 * session_init
 *  - no token (or one that failed verification) → TOKEN_INVALID, before anything else;
 *  - `interview_session_id` / `user_id` in the message must equal the token's, or be absent (the
 *    token's are then used) → else FORBIDDEN;
 *  - a token naming a session_id allows only that session → else FORBIDDEN;
 *  - an existing session may be continued or taken over only with a token for the same interview
 *    AND the same user → else FORBIDDEN. A session without an owner (created before tokens
 *    existed) belongs to nobody a token could name, so it is refused too.
 *  - allowed: the session is opened with the token's interview and user, never the message's.
 *
 * Status (GET /sessions/{id}/status)
 *  - an operator API key reads any session;
 *  - a token reads a session of its own interview and user (and its own session, when it names
 *    one). Anything else answers exactly like an unknown session (404 SESSION_NOT_FOUND), so a
 *    token holder cannot probe which session ids exist.
 */
import { AppError } from "../../shared/errors";
import type { ReviewerClaims, UploadTokenClaims } from "./tokens";

/** Why a valid token does not allow what it was used for (FORBIDDEN): AppError.reason, for logs and metrics only. */
export type ForbiddenReason = "interview_mismatch" | "user_mismatch" | "session_mismatch" | "owner_mismatch";

/** The parts of session_init an authorization looks at (as parsed by proto/wire). */
export interface SessionInitRequest {
  session_id: string;
  interview_session_id: number | null;
  user_id: number | null;
}

/** Who an existing media session belongs to (null ids: a session made before tokens). */
export interface SessionOwner {
  interviewSessionId: number | null;
  userId: number | null;
}

/** The identity a new or continued session is opened with. */
export interface SessionGrant {
  interviewSessionId: number;
  userId: number;
}

function forbidden(reason: ForbiddenReason, field?: string): AppError {
  return new AppError("FORBIDDEN", undefined, field ? { field } : {}, { reason });
}

function sameOwner(claims: UploadTokenClaims, owner: SessionOwner): boolean {
  return owner.interviewSessionId === claims.interviewSessionId && owner.userId === claims.userId;
}

/**
 * Decides a session_init. `claims` is the verified token (null when there is none: the caller
 * has already turned a failed verification into TOKEN_INVALID, or passes null here to get it);
 * `existing` is the session's current owner, or null for a new session id. Returns the grant or
 * throws AppError (TOKEN_INVALID / FORBIDDEN, `field` naming the mismatching message field).
 */
export function authorizeSessionInit(claims: UploadTokenClaims | null, init: SessionInitRequest, existing: SessionOwner | null): SessionGrant {
  if (!claims) throw new AppError("TOKEN_INVALID", undefined, {}, { reason: "missing" });
  if (init.interview_session_id !== null && init.interview_session_id !== claims.interviewSessionId) throw forbidden("interview_mismatch", "interview_session_id");
  if (init.user_id !== null && init.user_id !== claims.userId) throw forbidden("user_mismatch", "user_id");
  if (claims.sessionId !== null && claims.sessionId !== init.session_id) throw forbidden("session_mismatch", "session_id");
  if (existing && !sameOwner(claims, existing)) throw forbidden("owner_mismatch", "session_id");
  return { interviewSessionId: claims.interviewSessionId, userId: claims.userId };
}

/** Who reads: an operator API key, a verified upload token (`token`), or a reviewer token. */
export type StatusReader = { kind: "api_key" } | { kind: "token"; claims: UploadTokenClaims } | { kind: "reviewer"; claims: ReviewerClaims };

/** Why a reader may not read (answered as 404, like an unknown id); for logs and metrics only. */
export type ReadRefusal = "unknown" | ForbiddenReason | "upload_token" | "reviewer_scope";

export type StatusDecision =
  | { allow: true }
  /** Answer 404 SESSION_NOT_FOUND, byte for byte what an unknown id gets; `reason` is for logs and metrics only. */
  | { allow: false; code: "SESSION_NOT_FOUND"; reason: ReadRefusal };

/** A reviewer token reads the interviews it is scoped to: one, or all (null). */
function reviewerReads(claims: ReviewerClaims, interviewSessionId: number | null): boolean {
  return claims.interviewSessionId === null ? interviewSessionId !== null : claims.interviewSessionId === interviewSessionId;
}

/**
 * Decides a status or analysis read; `owner` is null when no session has this id. An api key
 * reads any session, a reviewer token the sessions of its interview(s), an upload token its own.
 */
export function authorizeStatusRead(reader: StatusReader, sessionId: string, owner: SessionOwner | null): StatusDecision {
  if (!owner) return { allow: false, code: "SESSION_NOT_FOUND", reason: "unknown" };
  if (reader.kind === "api_key") return { allow: true };
  if (reader.kind === "reviewer") {
    return reviewerReads(reader.claims, owner.interviewSessionId) ? { allow: true } : { allow: false, code: "SESSION_NOT_FOUND", reason: "reviewer_scope" };
  }
  const { claims } = reader;
  if (claims.sessionId !== null && claims.sessionId !== sessionId) return { allow: false, code: "SESSION_NOT_FOUND", reason: "session_mismatch" };
  if (!sameOwner(claims, owner)) return { allow: false, code: "SESSION_NOT_FOUND", reason: "owner_mismatch" };
  return { allow: true };
}

/**
 * Decides a read of a recording (media, timeline, manifest, verify): an api key, or a reviewer
 * token of the session's interview. An upload token never reads media, not even its own: a
 * candidate's browser holds it, and the recording is for the interviewers.
 */
export function authorizeMediaRead(reader: StatusReader, owner: SessionOwner | null): StatusDecision {
  if (!owner) return { allow: false, code: "SESSION_NOT_FOUND", reason: "unknown" };
  if (reader.kind === "api_key") return { allow: true };
  if (reader.kind === "token") return { allow: false, code: "SESSION_NOT_FOUND", reason: "upload_token" };
  return reviewerReads(reader.claims, owner.interviewSessionId) ? { allow: true } : { allow: false, code: "SESSION_NOT_FOUND", reason: "reviewer_scope" };
}

/** Decides a read of an interview (its listing, detail and export); refused reads answer 404 INTERVIEW_SESSION_NOT_FOUND. */
export function authorizeInterviewRead(reader: StatusReader, interviewSessionId: number): { allow: true } | { allow: false; reason: ReadRefusal } {
  if (reader.kind === "api_key") return { allow: true };
  if (reader.kind === "token") return { allow: false, reason: "upload_token" };
  return reviewerReads(reader.claims, interviewSessionId) ? { allow: true } : { allow: false, reason: "reviewer_scope" };
}
