/**
 * @module metadata/core/retention
 * Retention and erasure (media.v1.RetentionService) as flows over the `RetentionRepo` port, and
 * the retention rule written once (`expiresAtMs`, `isExpired`): pure, no SQL, no gRPC.
 *
 * The life of an erasure (docs/retention.md):
 *   requested (DELETE with an api key, or the retention pass) ──▶ pending
 *     the same transaction marks the interview (erasure_requested_at: from now on every read
 *     answers "not found" and no media session opens for it), clears its title and fences its
 *     media sessions' writers (lease epochs bumped);
 *   pending ──claim──▶ running (worker, attempt, until): the reaper deletes each media session's
 *     blobs (storage), then its rows; progress extends the claim; a killed reaper's claim expires
 *     and the next claim resumes: deleting again what is already gone deletes nothing and counts
 *     nothing;
 *   running ──finish──▶ done: the interview row is deleted; the erasure row stays as the audit
 *     record (interview number, reason, key id, counts, times: no personal data).
 * A legal hold blocks both: RequestErasure answers LEGAL_HOLD and the retention pass skips it.
 */
import { isCanonicalUuid } from "../../../proto/wire/ids";
import { AppError } from "../../shared/errors";

export type ErasureReason = "request" | "retention";
export type ErasureState = "pending" | "running" | "done";

/** Bounds of a retention period, in days (PUT /interview-sessions/{id}/retention, CANDID_RETENTION_DAYS). */
export const MIN_RETENTION_DAYS = 1;
export const MAX_RETENTION_DAYS = 3650;
export const DAY_MS = 86_400_000;
export const MAX_ERASURE_CLAIM = 100;
export const MIN_ERASURE_LEASE_MS = 1_000;
export const MAX_ERASURE_LEASE_MS = 3_600_000;
export const MAX_ENQUEUE_LIMIT = 1_000;
/** Media sessions listed per ListErasureSessions call. */
export const MAX_ERASURE_SESSIONS_LISTED = 1_000;
const MAX_WORKER_CHARS = 200;
const KEY_ID_RE = /^[0-9a-f]{16}$/;
const MAX_ID = 2 ** 53 - 1;

/** What the retention rule looks at. Times in Unix epoch ms; lastActivityMs 0: no media session yet. */
export interface RetentionFacts {
  createdAtMs: number;
  /** The latest last_activity of the interview's media sessions; 0 when it has none. */
  lastActivityMs: number;
  /** The interview's own retention; null: the deployment's. */
  retentionDays: number | null;
  legalHold: boolean;
  /** An erasure was already requested. */
  erasureRequested: boolean;
}

export interface RetentionInterview extends RetentionFacts {
  interviewSessionId: number;
}

/** The retention that applies: the interview's own wins; null: none (kept forever). */
export function effectiveRetentionDays(own: number | null, deploymentDays: number | null): number | null {
  return own ?? deploymentDays;
}

/** Where the retention period starts: the last activity, or the creation when there was none. */
export function retentionStartMs(f: Pick<RetentionFacts, "createdAtMs" | "lastActivityMs">): number {
  return f.lastActivityMs > 0 ? Math.max(f.lastActivityMs, f.createdAtMs) : f.createdAtMs;
}

/** When the interview's retention runs out (Unix epoch ms); null when none applies. */
export function expiresAtMs(f: RetentionFacts, deploymentDays: number | null): number | null {
  const days = effectiveRetentionDays(f.retentionDays, deploymentDays);
  return days === null ? null : retentionStartMs(f) + days * DAY_MS;
}

/** Whether the retention pass erases it now: expired, not held, not already being erased. */
export function isExpired(f: RetentionFacts, deploymentDays: number | null, nowMs: number): boolean {
  if (f.legalHold || f.erasureRequested) return false;
  const at = expiresAtMs(f, deploymentDays);
  return at !== null && nowMs >= at;
}

/** The audit record (erasures row). Times in epoch ms; 0 = unset. */
export interface ErasureRecord {
  erasureId: number;
  interviewSessionId: number;
  reason: ErasureReason;
  state: ErasureState;
  requestedAtMs: number;
  finishedAtMs: number;
  /** "" for the retention pass. */
  requestedByKeyId: string;
  mediaSessionsDeleted: number;
  blobsDeleted: number;
  blobBytesDeleted: number;
  rowsDeleted: number;
}

export interface ClaimedErasure {
  erasureId: number;
  interviewSessionId: number;
  reason: ErasureReason;
  attempt: number;
}

/** Names a claim (worker, attempt) on an erasure. */
export interface ErasureClaim {
  erasureId: number;
  worker: string;
  attempt: number;
}

export interface SessionRowsDeleted {
  audioChunks: number;
  videoFrames: number;
  captureEvents: number;
  mediaSessions: number;
}

/** What requestErasure's decision says, given the interview as its transaction locked it. */
export type ErasureDecision = "erase" | "skip";

export type RequestOutcome = { erasure: ErasureRecord; created: boolean } | "not_found" | "skipped";

/**
 * Where retention state and erasures live (PgRetentionRepo). Row-level: the rules are this
 * module's; a method applies the decision it is given, atomically. Methods taking a claim throw
 * AppError ERASURE_CLAIM_LOST (changing nothing) unless the erasure is running under it.
 */
export interface RetentionRepo {
  /** The hold after the call; null when there is no such interview or its erasure was requested. */
  setLegalHold(interviewSessionId: number, hold: boolean): Promise<boolean | null>;
  /** The retention after the call ({days: null}: cleared); null like setLegalHold. */
  setRetention(interviewSessionId: number, days: number | null): Promise<{ days: number | null } | null>;
  /**
   * One transaction: locks the interview. An erasure already requested answers it (created:
   * false). No interview: the erasure of an interview that is gone, else "not_found". Otherwise
   * `decide` (which may throw) says whether to erase; "erase" inserts the erasure, marks the
   * interview, clears its title and bumps the lease epochs of its media sessions.
   */
  requestErasure(interviewSessionId: number, reason: ErasureReason, keyId: string | null, decide: (i: RetentionInterview) => ErasureDecision): Promise<RequestOutcome>;
  claim(worker: string, limit: number, leaseMs: number): Promise<ClaimedErasure[]>;
  listSessions(claim: ErasureClaim, limit: number): Promise<string[]>;
  progress(claim: ErasureClaim, blobs: number, bytes: number, leaseMs: number): Promise<void>;
  /** Deletes the session's rows if it belongs to the erasure's interview; zeros when it is gone. */
  deleteSessionRows(claim: ErasureClaim, sessionId: string): Promise<SessionRowsDeleted>;
  /** Done already: finished. Media sessions left: not finished (remaining). Else deletes the interview row, marks done. */
  finish(claim: ErasureClaim): Promise<{ finished: boolean; remaining: number; erasure: ErasureRecord }>;
  /**
   * Interviews that may have expired at `nowMs`, oldest id first, at most `limit`: the repository
   * narrows with the same rule (the core re-checks each with isExpired).
   */
  expiredCandidates(deploymentDays: number | null, nowMs: number, limit: number): Promise<RetentionInterview[]>;
}

function interviewId(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_ID) throw new AppError("INTERVIEW_SESSION_NOT_FOUND", undefined, { field: "interview_session_id" });
  return n;
}

function intIn(n: number, min: number, max: number, field: string): number {
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new AppError("INVALID_MESSAGE", `${field} must be an integer from ${min} to ${max}`, { field });
  return n;
}

/** A retention in days, or null (cleared); INVALID_MESSAGE out of 1..3650. */
export function validRetentionDays(days: number | null): number | null {
  return days === null ? null : intIn(days, MIN_RETENTION_DAYS, MAX_RETENTION_DAYS, "retention_days");
}

function worker(w: string): string {
  if (w === "" || w.length > MAX_WORKER_CHARS) throw new AppError("INVALID_MESSAGE", `worker must be 1 to ${MAX_WORKER_CHARS} characters`, { field: "worker" });
  return w;
}

function validClaim(c: ErasureClaim | undefined): ErasureClaim {
  if (!c) throw new AppError("INVALID_MESSAGE", "claim is required", { field: "claim" });
  intIn(c.erasureId, 1, MAX_ID, "erasure_id");
  intIn(c.attempt, 1, 2 ** 31 - 1, "attempt");
  worker(c.worker);
  return c;
}

export class Retention {
  constructor(
    private readonly repo: RetentionRepo,
    private readonly now: () => number = Date.now,
  ) {}

  async setLegalHold(id: number, hold: boolean): Promise<boolean> {
    const r = await this.repo.setLegalHold(interviewId(id), hold);
    if (r === null) throw new AppError("INTERVIEW_SESSION_NOT_FOUND");
    return r;
  }

  async setRetention(id: number, days: number | null): Promise<number | null> {
    const valid = validRetentionDays(days);
    const r = await this.repo.setRetention(interviewId(id), valid);
    if (r === null) throw new AppError("INTERVIEW_SESSION_NOT_FOUND");
    return r.days;
  }

  /** Idempotent; LEGAL_HOLD when held, INTERVIEW_SESSION_NOT_FOUND when there is none. */
  async requestErasure(id: number, keyId: string): Promise<{ erasure: ErasureRecord; created: boolean }> {
    if (!KEY_ID_RE.test(keyId)) throw new AppError("INVALID_MESSAGE", "requested_by_key_id must be 16 lowercase hex digits", { field: "requested_by_key_id" });
    const r = await this.repo.requestErasure(interviewId(id), "request", keyId, (i) => {
      if (i.legalHold) throw new AppError("LEGAL_HOLD");
      return "erase";
    });
    if (r === "not_found" || r === "skipped") throw new AppError("INTERVIEW_SESSION_NOT_FOUND");
    return r;
  }

  async claim(input: { worker: string; limit: number; leaseMs: number }): Promise<ClaimedErasure[]> {
    return this.repo.claim(
      worker(input.worker),
      intIn(input.limit, 1, MAX_ERASURE_CLAIM, "limit"),
      intIn(input.leaseMs, MIN_ERASURE_LEASE_MS, MAX_ERASURE_LEASE_MS, "lease_ms"),
    );
  }

  async listSessions(claim: ErasureClaim | undefined): Promise<string[]> {
    return this.repo.listSessions(validClaim(claim), MAX_ERASURE_SESSIONS_LISTED);
  }

  async progress(claim: ErasureClaim | undefined, blobs: number, bytes: number, leaseMs: number): Promise<void> {
    return this.repo.progress(
      validClaim(claim),
      intIn(blobs, 0, 2 ** 32 - 1, "blobs_deleted"),
      intIn(bytes, 0, MAX_ID, "blob_bytes_deleted"),
      intIn(leaseMs, MIN_ERASURE_LEASE_MS, MAX_ERASURE_LEASE_MS, "lease_ms"),
    );
  }

  async deleteSessionRows(claim: ErasureClaim | undefined, sessionId: string): Promise<SessionRowsDeleted> {
    const c = validClaim(claim);
    if (!isCanonicalUuid(sessionId)) throw new AppError("INVALID_SESSION_ID", undefined, { field: "session_id" });
    return this.repo.deleteSessionRows(c, sessionId);
  }

  async finish(claim: ErasureClaim | undefined): Promise<{ finished: boolean; remaining: number; erasure: ErasureRecord }> {
    return this.repo.finish(validClaim(claim));
  }

  /**
   * The retention pass: requests the erasure (reason retention) of the expired interviews, at
   * most `limit`. Each candidate is re-checked inside its own transaction (activity or a hold that
   * came meanwhile keeps it). `deploymentDays` 0: no deployment default.
   */
  async enqueueExpired(deploymentDays: number, limit: number): Promise<ErasureRecord[]> {
    const days = deploymentDays === 0 ? null : intIn(deploymentDays, MIN_RETENTION_DAYS, MAX_RETENTION_DAYS, "default_retention_days");
    const max = intIn(limit, 1, MAX_ENQUEUE_LIMIT, "limit");
    const now = this.now();
    const candidates = (await this.repo.expiredCandidates(days, now, max)).filter((i) => isExpired(i, days, now));
    const out: ErasureRecord[] = [];
    for (const c of candidates) {
      const r = await this.repo.requestErasure(c.interviewSessionId, "retention", null, (fresh) => (isExpired(fresh, days, this.now()) ? "erase" : "skip"));
      if (typeof r === "object" && r.created) out.push(r.erasure);
    }
    return out;
  }
}
