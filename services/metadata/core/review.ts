/**
 * @module metadata/core/review
 * What reviewers read (media.v1.ReviewService): interviews, their media sessions, a session's
 * stored items, and the seal of a completed session's manifest. Validates the arguments once and
 * asks the ReviewRepo port (adapters/pg-review-repo.ts); pure apart from the port.
 */
import { isCanonicalUuid } from "../../../proto/wire/ids";
import { AppError } from "../../shared/errors";
import type { InterviewSummary, ReviewSession, SessionItemsPage, StoredChunk, StoredFrame } from "../../shared/review";

export type { InterviewSummary, ReviewSession, SessionItemsPage, StoredChunk, StoredFrame };

export interface ReviewRepo {
  /** `limit + 1` rows may be asked for to learn whether there are more. */
  listInterviews(limit: number, beforeId: number, onlyId: number): Promise<InterviewSummary[]>;
  getInterview(id: number): Promise<{ interview: InterviewSummary; sessions: ReviewSession[] } | null>;
  /** null: no such session. */
  sessionItems(sessionId: string, chunksAfter: number, framesAfter: number, limit: number): Promise<SessionItemsPage | null>;
  /** The stored seal after the call: the one written now, or the earlier one (null: no such session). */
  seal(sessionId: string, manifestSha256: string): Promise<{ manifestSha256: string; sealedAtMs: number } | null>;
}

export const INTERVIEWS_PAGE_DEFAULT = 50;
export const INTERVIEWS_PAGE_MAX = 200;
export const ITEMS_PAGE_MAX = 1000;
const MAX_ID = 2 ** 53 - 1;

function id(n: number, field: string, allowZero: boolean): number {
  if (!Number.isSafeInteger(n) || n < (allowZero ? 0 : 1) || n > MAX_ID) throw new AppError("INVALID_MESSAGE", `${field} must be a positive integer`, { field });
  return n;
}

function sessionIdOf(s: string): string {
  if (!isCanonicalUuid(s)) throw new AppError("INVALID_SESSION_ID", undefined, { field: "session_id" });
  return s;
}

export class Review {
  constructor(private readonly repo: ReviewRepo) {}

  async listInterviews(input: { limit: number; beforeId: number; onlyId: number }): Promise<{ interviews: InterviewSummary[]; more: boolean }> {
    const limit = input.limit === 0 ? INTERVIEWS_PAGE_DEFAULT : input.limit;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > INTERVIEWS_PAGE_MAX) throw new AppError("INVALID_MESSAGE", `limit must be 1..${INTERVIEWS_PAGE_MAX}`, { field: "limit" });
    const rows = await this.repo.listInterviews(limit + 1, id(input.beforeId, "before_id", true), id(input.onlyId, "only_interview_session_id", true));
    return { interviews: rows.slice(0, limit), more: rows.length > limit };
  }

  async getInterview(interviewSessionId: number): Promise<{ interview: InterviewSummary; sessions: ReviewSession[] }> {
    const r = await this.repo.getInterview(id(interviewSessionId, "interview_session_id", false));
    if (!r) throw new AppError("INTERVIEW_SESSION_NOT_FOUND");
    return r;
  }

  async sessionItems(input: { sessionId: string; chunksAfter: number; framesAfter: number; limit: number }): Promise<SessionItemsPage> {
    const limit = input.limit === 0 ? ITEMS_PAGE_MAX : input.limit;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > ITEMS_PAGE_MAX) throw new AppError("INVALID_MESSAGE", `limit must be 1..${ITEMS_PAGE_MAX}`, { field: "limit" });
    for (const [f, v] of [["chunks_after", input.chunksAfter], ["frames_after", input.framesAfter]] as const) {
      if (!Number.isSafeInteger(v) || v < -1 || v > 4_294_967_295) throw new AppError("INVALID_MESSAGE", `${f} must be -1..4294967295`, { field: f });
    }
    const page = await this.repo.sessionItems(sessionIdOf(input.sessionId), input.chunksAfter, input.framesAfter, limit);
    if (!page) throw new AppError("SESSION_NOT_FOUND");
    return page;
  }

  /** Seals once; the same hash again is a no-op, another hash SESSION_ALREADY_SEALED. */
  async seal(sessionId: string, manifestSha256: string): Promise<{ sealedAtMs: number }> {
    if (!/^[0-9a-f]{64}$/.test(manifestSha256)) throw new AppError("INVALID_MESSAGE", "manifest_sha256 must be 64 lowercase hex digits", { field: "manifest_sha256" });
    const r = await this.repo.seal(sessionIdOf(sessionId), manifestSha256);
    if (!r) throw new AppError("SESSION_NOT_FOUND");
    if (r.manifestSha256 !== manifestSha256) throw new AppError("SESSION_ALREADY_SEALED");
    return { sealedAtMs: r.sealedAtMs };
  }
}
