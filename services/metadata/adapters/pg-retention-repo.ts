/**
 * @module metadata/adapters/pg-retention-repo
 * The RetentionRepo port (core/retention.ts) on PostgreSQL (postgres.js; PGlite embedded by
 * default). Tables: interview_sessions (retention_days, legal_hold, erasure_requested_at) and
 * erasures (migration 006).
 *
 * Races, and what serializes them:
 *   - RequestErasure locks the interview row FOR UPDATE, then bumps the lease epoch of each of
 *     its media sessions (fencing their writers: their next record is SESSION_TAKEN_OVER).
 *     OpenSession of a NEW media session reads the interview FOR SHARE with
 *     `erasure_requested_at is null` (pg-repo.ts), so it waits for a concurrent request and then
 *     finds it; a RESUMED session is either fenced by the request's epoch bump (it opened first)
 *     or sees the mark (it opened after).
 *   - Claims: one statement, `FOR UPDATE SKIP LOCKED` over the partial index of erasures still to
 *     do; pending ones, or running ones whose claim expired (a killed reaper).
 *   - Every call under a claim is guarded by (id, claimed_by, attempts, state running): a reaper
 *     whose claim was taken over changes nothing (ERASURE_CLAIM_LOST).
 *   - Deleting a media session's rows locks the erasure row and the session row: two reapers
 *     never both count the same rows (the second finds none).
 */
import type postgres from "postgres";
import { AppError } from "../../shared/errors";
import type {
  ClaimedErasure,
  ErasureClaim,
  ErasureDecision,
  ErasureReason,
  ErasureRecord,
  ErasureState,
  RequestOutcome,
  RetentionInterview,
  RetentionRepo,
  SessionRowsDeleted,
} from "../core/retention";
import { dateToMs, type Sql, translatePgError } from "./pg-repo";

type Tx = postgres.TransactionSql<{}>;

async function translated<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translatePgError(err);
  }
}

interface ErasureRow {
  id: string;
  interview_session_id: string;
  reason: ErasureReason;
  state: ErasureState;
  requested_at: Date;
  finished_at: Date | null;
  requested_by_key_id: string | null;
  media_sessions_deleted: number;
  blobs_deleted: string;
  blob_bytes_deleted: string;
  rows_deleted: string;
}

export function rowToErasure(r: ErasureRow): ErasureRecord {
  return {
    erasureId: Number(r.id),
    interviewSessionId: Number(r.interview_session_id),
    reason: r.reason,
    state: r.state,
    requestedAtMs: dateToMs(r.requested_at),
    finishedAtMs: dateToMs(r.finished_at),
    requestedByKeyId: r.requested_by_key_id ?? "",
    mediaSessionsDeleted: Number(r.media_sessions_deleted),
    blobsDeleted: Number(r.blobs_deleted),
    blobBytesDeleted: Number(r.blob_bytes_deleted),
    rowsDeleted: Number(r.rows_deleted),
  };
}

interface InterviewRow {
  id: string;
  created_at: Date;
  retention_days: number | null;
  legal_hold: boolean;
  erasure_requested_at: Date | null;
  last_activity: Date | null;
}

const toInterview = (r: InterviewRow): RetentionInterview => ({
  interviewSessionId: Number(r.id),
  createdAtMs: dateToMs(r.created_at),
  lastActivityMs: dateToMs(r.last_activity),
  retentionDays: r.retention_days,
  legalHold: r.legal_hold,
  erasureRequested: r.erasure_requested_at !== null,
});

const claimLost = () => new AppError("ERASURE_CLAIM_LOST");

export class PgRetentionRepo implements RetentionRepo {
  constructor(private readonly sql: Sql) {}

  private tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return translated(() => this.sql.begin(fn) as Promise<T>);
  }

  /** The erasure row if `claim` holds it (locked FOR UPDATE for the transaction), else ERASURE_CLAIM_LOST. */
  private async claimed(tx: Tx, c: ErasureClaim): Promise<ErasureRow> {
    const [row] = await tx<ErasureRow[]>`
      select * from erasures where id = ${c.erasureId} and claimed_by = ${c.worker} and attempts = ${c.attempt} and state = 'running'
      for update`;
    if (!row) throw claimLost();
    return row;
  }

  setLegalHold(id: number, hold: boolean): Promise<boolean | null> {
    return translated(async () => {
      const [row] = await this.sql<{ legal_hold: boolean }[]>`
        update interview_sessions set legal_hold = ${hold} where id = ${id} and erasure_requested_at is null returning legal_hold`;
      return row ? row.legal_hold : null;
    });
  }

  setRetention(id: number, days: number | null): Promise<{ days: number | null } | null> {
    return translated(async () => {
      const [row] = await this.sql<{ retention_days: number | null }[]>`
        update interview_sessions set retention_days = ${days} where id = ${id} and erasure_requested_at is null returning retention_days`;
      return row ? { days: row.retention_days } : null;
    });
  }

  requestErasure(id: number, reason: ErasureReason, keyId: string | null, decide: (i: RetentionInterview) => ErasureDecision): Promise<RequestOutcome> {
    return this.tx(async (tx) => {
      const [row] = await tx<Omit<InterviewRow, "last_activity">[]>`
        select id, created_at, retention_days, legal_hold, erasure_requested_at from interview_sessions where id = ${id} for update`;
      if (!row || row.erasure_requested_at !== null) {
        const [existing] = await tx<ErasureRow[]>`select * from erasures where interview_session_id = ${id}`;
        return existing ? { erasure: rowToErasure(existing), created: false } : "not_found";
      }
      const [activity] = await tx<{ last_activity: Date | null }[]>`
        select max(last_activity) as last_activity from media_sessions where interview_session_id = ${id}`;
      if (decide(toInterview({ ...row, last_activity: activity?.last_activity ?? null })) === "skip") return "skipped";
      const [created] = await tx<ErasureRow[]>`
        insert into erasures (interview_session_id, reason, requested_by_key_id) values (${id}, ${reason}, ${keyId}) returning *`;
      await tx`update interview_sessions set erasure_requested_at = now(), title = '' where id = ${id}`;
      // The fence: every writer of these sessions holds an older epoch from now on.
      await tx`update media_sessions set owner_epoch = owner_epoch + 1, owner_instance = null where interview_session_id = ${id}`;
      return { erasure: rowToErasure(created!), created: true };
    });
  }

  claim(worker: string, limit: number, leaseMs: number): Promise<ClaimedErasure[]> {
    return translated(async () => {
      const rows = await this.sql<{ id: string; interview_session_id: string; reason: ErasureReason; attempts: number }[]>`
        with c as (
          select id from erasures
          where state <> 'done' and (state = 'pending' or claim_until is null or claim_until <= now())
          order by id limit ${limit} for update skip locked)
        update erasures e set state = 'running', attempts = e.attempts + 1, claimed_by = ${worker},
          claim_until = now() + (${leaseMs}::float8 * interval '1 millisecond'), started_at = coalesce(e.started_at, now())
        from c where e.id = c.id
        returning e.id, e.interview_session_id, e.reason, e.attempts`;
      return rows
        .map((r) => ({ erasureId: Number(r.id), interviewSessionId: Number(r.interview_session_id), reason: r.reason, attempt: r.attempts }))
        .sort((a, b) => a.erasureId - b.erasureId);
    });
  }

  listSessions(claim: ErasureClaim, limit: number): Promise<string[]> {
    return this.tx(async (tx) => {
      const e = await this.claimed(tx, claim);
      const rows = await tx<{ session_id: string }[]>`
        select session_id from media_sessions where interview_session_id = ${e.interview_session_id} order by id limit ${limit}`;
      return rows.map((r) => r.session_id);
    });
  }

  progress(claim: ErasureClaim, blobs: number, bytes: number, leaseMs: number): Promise<void> {
    return translated(async () => {
      const rows = await this.sql`
        update erasures set blobs_deleted = blobs_deleted + ${blobs}, blob_bytes_deleted = blob_bytes_deleted + ${bytes},
          claim_until = now() + (${leaseMs}::float8 * interval '1 millisecond')
        where id = ${claim.erasureId} and claimed_by = ${claim.worker} and attempts = ${claim.attempt} and state = 'running'
        returning id`;
      if (rows.length !== 1) throw claimLost();
    });
  }

  deleteSessionRows(claim: ErasureClaim, sessionId: string): Promise<SessionRowsDeleted> {
    return this.tx(async (tx) => {
      const e = await this.claimed(tx, claim);
      const [m] = await tx<{ id: string }[]>`
        select id from media_sessions where session_id = ${sessionId} and interview_session_id = ${e.interview_session_id} for update`;
      if (!m) return { audioChunks: 0, videoFrames: 0, captureEvents: 0, mediaSessions: 0 };
      // Frames first: their audio_chunk_id would otherwise be set to null row by row.
      const frames = await tx`delete from video_frames where media_session_id = ${m.id}`;
      const chunks = await tx`delete from audio_chunks where media_session_id = ${m.id}`;
      const events = await tx`delete from capture_events where media_session_id = ${m.id}`;
      const sessions = await tx`delete from media_sessions where id = ${m.id}`;
      const out = { audioChunks: chunks.count, videoFrames: frames.count, captureEvents: events.count, mediaSessions: sessions.count };
      await tx`
        update erasures set media_sessions_deleted = media_sessions_deleted + ${out.mediaSessions},
          rows_deleted = rows_deleted + ${out.audioChunks + out.videoFrames + out.captureEvents + out.mediaSessions}
        where id = ${e.id}`;
      return out;
    });
  }

  finish(claim: ErasureClaim): Promise<{ finished: boolean; remaining: number; erasure: ErasureRecord }> {
    return this.tx(async (tx) => {
      const [done] = await tx<ErasureRow[]>`select * from erasures where id = ${claim.erasureId} and state = 'done'`;
      if (done) return { finished: true, remaining: 0, erasure: rowToErasure(done) };
      const e = await this.claimed(tx, claim);
      const [left] = await tx<{ n: string }[]>`select count(*) as n from media_sessions where interview_session_id = ${e.interview_session_id}`;
      const remaining = Number(left?.n ?? 0);
      if (remaining > 0) return { finished: false, remaining, erasure: rowToErasure(e) };
      await tx`delete from interview_sessions where id = ${e.interview_session_id}`;
      const [row] = await tx<ErasureRow[]>`
        update erasures set state = 'done', finished_at = now(), claimed_by = null, claim_until = null where id = ${e.id} returning *`;
      return { finished: true, remaining: 0, erasure: rowToErasure(row!) };
    });
  }

  expiredCandidates(deploymentDays: number | null, nowMs: number, limit: number): Promise<RetentionInterview[]> {
    return translated(async () => {
      // The same rule as core isExpired: own retention, else the deployment's; counted from the
      // latest activity of its media sessions, else its creation; never held or already erasing.
      const rows = await this.sql<InterviewRow[]>`
        select i.id, i.created_at, i.retention_days, i.legal_hold, i.erasure_requested_at, a.last_activity
        from interview_sessions i
        cross join lateral (select max(m.last_activity) as last_activity from media_sessions m where m.interview_session_id = i.id) a
        where not i.legal_hold and i.erasure_requested_at is null
          and coalesce(i.retention_days, ${deploymentDays}::integer) is not null
          and greatest(i.created_at, coalesce(a.last_activity, i.created_at))
            + coalesce(i.retention_days, ${deploymentDays}::integer) * interval '1 day' <= ${new Date(nowMs)}::timestamptz
        order by i.id limit ${limit}`;
      return rows.map(toInterview);
    });
  }
}
