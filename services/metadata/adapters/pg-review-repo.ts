/**
 * @module metadata/adapters/pg-review-repo
 * The ReviewRepo port (core/review.ts) on PostgreSQL (postgres.js; PGlite embedded by default).
 * Reads only, apart from the seal: one UPDATE that sets the manifest hash where none is set, so
 * two sealers race harmlessly and the first hash stays.
 */
import type { InterviewSummary, ReviewRepo, ReviewSession, SessionItemsPage } from "../core/review";
import { dateToMs, type Sql, translatePgError } from "./pg-repo";

async function translated<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translatePgError(err);
  }
}

interface InterviewRow {
  id: string;
  title: string;
  created_at: Date;
  media_sessions: string;
  last_activity: Date | null;
  legal_hold?: boolean;
  retention_days?: number | null;
}

const interviewOf = (r: InterviewRow): InterviewSummary => ({
  interviewSessionId: Number(r.id),
  title: r.title,
  createdAtMs: dateToMs(r.created_at),
  mediaSessions: Number(r.media_sessions),
  lastActivityMs: dateToMs(r.last_activity),
  legalHold: r.legal_hold ?? false,
  retentionDays: r.retention_days ?? 0,
});

export class PgReviewRepo implements ReviewRepo {
  constructor(private readonly sql: Sql) {}

  listInterviews(limit: number, beforeId: number, onlyId: number): Promise<InterviewSummary[]> {
    return translated(async () => {
      const rows = await this.sql<InterviewRow[]>`
        select i.id, i.title, i.created_at, count(m.id) as media_sessions, max(m.last_activity) as last_activity
        from interview_sessions i left join media_sessions m on m.interview_session_id = i.id
        where i.erasure_requested_at is null and (${beforeId}::bigint = 0 or i.id < ${beforeId}) and (${onlyId}::bigint = 0 or i.id = ${onlyId})
        group by i.id order by i.id desc limit ${limit}`;
      return rows.map(interviewOf);
    });
  }

  getInterview(id: number): Promise<{ interview: InterviewSummary; sessions: ReviewSession[] } | null> {
    return translated(async () => {
      const [interview] = await this.sql<InterviewRow[]>`
        select i.id, i.title, i.created_at, count(m.id) as media_sessions, max(m.last_activity) as last_activity, i.legal_hold, i.retention_days
        from interview_sessions i left join media_sessions m on m.interview_session_id = i.id
        where i.id = ${id} and i.erasure_requested_at is null group by i.id`;
      if (!interview) return null;
      const sessions = await this.sql<
        {
          session_id: string;
          user_id: string | null;
          status: string;
          started_at: Date;
          last_activity: Date;
          total_chunks: number;
          total_frames: number;
          stored_chunks: string;
          stored_frames: string;
          first_start: Date | null;
          last_end: Date | null;
          manifest_sha256: string | null;
          sealed_at: Date | null;
        }[]
      >`
        select m.session_id, m.user_id, m.status, m.started_at, m.last_activity, m.total_chunks, m.total_frames,
          (select count(*) from audio_chunks a where a.media_session_id = m.id) as stored_chunks,
          (select count(*) from video_frames f where f.media_session_id = m.id) as stored_frames,
          (select min(start_timestamp) from audio_chunks a where a.media_session_id = m.id) as first_start,
          (select max(end_timestamp) from audio_chunks a where a.media_session_id = m.id) as last_end,
          m.manifest_sha256, m.sealed_at
        from media_sessions m where m.interview_session_id = ${id} order by m.started_at, m.id`;
      return {
        interview: interviewOf(interview),
        sessions: sessions.map((s) => {
          const first = dateToMs(s.first_start);
          const last = dateToMs(s.last_end);
          return {
            sessionId: s.session_id,
            userId: Number(s.user_id ?? 0),
            status: s.status,
            startedAtMs: dateToMs(s.started_at),
            lastActivityMs: dateToMs(s.last_activity),
            totalChunks: s.total_chunks,
            totalFrames: s.total_frames,
            storedChunks: Number(s.stored_chunks),
            storedFrames: Number(s.stored_frames),
            durationMs: first > 0 && last > first ? last - first : 0,
            manifestSha256: s.manifest_sha256 ?? "",
            sealedAtMs: dateToMs(s.sealed_at),
          };
        }),
      };
    });
  }

  sessionItems(sessionId: string, chunksAfter: number, framesAfter: number, limit: number): Promise<SessionItemsPage | null> {
    return translated(async () => {
      // A session of an interview being erased is gone for reviewers (its rows go next).
      const [session] = await this.sql<{ id: string; manifest_sha256: string | null }[]>`
        select m.id, m.manifest_sha256 from media_sessions m left join interview_sessions i on i.id = m.interview_session_id
        where m.session_id = ${sessionId} and i.erasure_requested_at is null`;
      if (!session) return null;
      const chunks = await this.sql<{ chunk_index: string; mime_type: string; file_path: string; file_size: string; sha256: string; start_timestamp: Date | null; end_timestamp: Date | null; duration_ms: string | null }[]>`
        select chunk_index, mime_type, file_path, file_size, sha256, start_timestamp, end_timestamp, duration_ms
        from audio_chunks where media_session_id = ${session.id} and chunk_index > ${chunksAfter} order by chunk_index limit ${limit + 1}`;
      const frames = await this.sql<{ frame_index: string; chunk_index: string; mime_type: string; file_path: string; file_size: string; sha256: string; ts: Date | null; offset_ms: string | null }[]>`
        select frame_index, chunk_index, mime_type, file_path, file_size, sha256, "timestamp" as ts, offset_ms
        from video_frames where media_session_id = ${session.id} and frame_index > ${framesAfter} order by frame_index limit ${limit + 1}`;
      return {
        chunks: chunks.slice(0, limit).map((c) => ({
          chunkIndex: Number(c.chunk_index),
          mediaType: c.mime_type,
          filePath: c.file_path,
          fileSize: Number(c.file_size),
          sha256Hex: c.sha256,
          startMs: dateToMs(c.start_timestamp),
          endMs: dateToMs(c.end_timestamp),
          durationMs: Number(c.duration_ms ?? 0),
        })),
        frames: frames.slice(0, limit).map((f) => ({
          frameIndex: Number(f.frame_index),
          chunkIndex: Number(f.chunk_index),
          mediaType: f.mime_type,
          filePath: f.file_path,
          fileSize: Number(f.file_size),
          sha256Hex: f.sha256,
          timestampMs: dateToMs(f.ts),
          offsetMs: Number(f.offset_ms ?? 0),
        })),
        moreChunks: chunks.length > limit,
        moreFrames: frames.length > limit,
        manifestSha256: session.manifest_sha256 ?? "",
      };
    });
  }

  seal(sessionId: string, manifestSha256: string): Promise<{ manifestSha256: string; sealedAtMs: number } | null> {
    return translated(async () => {
      await this.sql`update media_sessions set manifest_sha256 = ${manifestSha256}, sealed_at = now() where session_id = ${sessionId} and manifest_sha256 is null`;
      const [row] = await this.sql<{ manifest_sha256: string | null; sealed_at: Date | null }[]>`select manifest_sha256, sealed_at from media_sessions where session_id = ${sessionId}`;
      if (!row) return null;
      return { manifestSha256: row.manifest_sha256 ?? "", sealedAtMs: dateToMs(row.sealed_at) };
    });
  }
}
