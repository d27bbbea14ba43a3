/**
 * @module metadata/adapters/pg-analysis-repo
 * The AnalysisRepo port (core/analysis.ts) on PostgreSQL (postgres.js; PGlite embedded by
 * default). The work queue lives in the chunk and frame rows themselves (migration 004):
 *   - claim: ONE statement per kind, `FOR UPDATE SKIP LOCKED` over the partial index of rows still
 *     to do, so concurrent workers never take the same row and never wait on each other; the
 *     claimed rows get (claimed_by, attempts + 1, not_before = now() + lease).
 *   - complete / fail: one UPDATE guarded by (id, claimed_by, attempts, not processed): a worker
 *     whose claim was taken over changes nothing.
 *   - capture events: fenced on the session's lease epoch, read `FOR SHARE` so a takeover
 *     (OpenSession locks the row FOR UPDATE) waits for the insert or fences it out.
 */
import type { WriteOutcome } from "../../shared/blob";
import { staleEpoch } from "../core/blobs";
import type {
  AnalysedChunkRow,
  AnalysedFrameRow,
  AnalysisKindName,
  AnalysisRepo,
  CaptureEventInput,
  CaptureEventRow,
  ChunkTimingRow,
  ClaimInput,
  CompleteInput,
  FailInput,
  FrameCounts,
  SessionAnalysisPage,
  WorkItem,
} from "../core/analysis";
import { MAX_CAPTURE_EVENTS_LISTED } from "../core/analysis";
import { dateToMs, type Sql, translatePgError } from "./pg-repo";

async function translated<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translatePgError(err);
  }
}

const TABLE: Record<AnalysisKindName, string> = { audio: "audio_chunks", frame: "video_frames" };

interface ClaimedRow {
  id: string;
  analysis_attempts: number;
  session_id: string;
  idx: string;
  mime_type: string;
  file_path: string;
  file_size: string;
  sha256: string;
  start_timestamp: Date | null;
  end_timestamp: Date | null;
  duration_ms: string | null;
  chunk_index: string;
  offset_ms: string | null;
  ts: Date | null;
}

export class PgAnalysisRepo implements AnalysisRepo {
  constructor(private readonly sql: Sql) {}

  async claim(input: ClaimInput): Promise<{ items: WorkItem[]; expiredFailed: number }> {
    return translated(async () => {
      const items: WorkItem[] = [];
      let expiredFailed = 0;
      for (const kind of input.kinds) {
        expiredFailed += await this.failExpired(kind, input.maxAttempts);
        const rows = kind === "audio" ? await this.claimAudio(input) : await this.claimFrames(input);
        for (const r of rows) items.push(toWorkItem(kind, r));
      }
      return { items, expiredFailed };
    });
  }

  /** Rows whose last allowed claim expired without a result (the worker died on them): failed for good. */
  private async failExpired(kind: AnalysisKindName, maxAttempts: number): Promise<number> {
    const t = this.sql(TABLE[kind]);
    const rows = await this.sql`
      update ${t} set analysis_failed = true, analysis_claimed_by = null,
        analysis_error = 'claim expired ' || analysis_attempts || ' times without a result'
      where id in (
        select id from ${t}
        where not processed and not analysis_failed and analysis_attempts >= ${maxAttempts}
          and analysis_claimed_by is not null and analysis_not_before <= now()
        order by id limit 1000 for update skip locked)
      returning id`;
    return rows.length;
  }

  private claimAudio(input: ClaimInput): Promise<ClaimedRow[]> {
    return this.sql<ClaimedRow[]>`
      with c as (
        select id from audio_chunks
        where not processed and not analysis_failed and analysis_attempts < ${input.maxAttempts}
          and (analysis_not_before is null or analysis_not_before <= now())
        order by id limit ${input.limit} for update skip locked)
      update audio_chunks a set analysis_attempts = a.analysis_attempts + 1, analysis_claimed_by = ${input.worker},
        analysis_not_before = now() + (${input.leaseMs}::float8 * interval '1 millisecond')
      from c, media_sessions m
      where a.id = c.id and m.id = a.media_session_id
      returning a.id, a.analysis_attempts, m.session_id, a.chunk_index as idx, a.mime_type, a.file_path, a.file_size,
        a.sha256, a.start_timestamp, a.end_timestamp, a.duration_ms, a.chunk_index, null::bigint as offset_ms, null::timestamptz as ts`;
  }

  private claimFrames(input: ClaimInput): Promise<ClaimedRow[]> {
    return this.sql<ClaimedRow[]>`
      with c as (
        select id from video_frames
        where not processed and not analysis_failed and analysis_attempts < ${input.maxAttempts}
          and (analysis_not_before is null or analysis_not_before <= now())
        order by id limit ${input.limit} for update skip locked)
      update video_frames f set analysis_attempts = f.analysis_attempts + 1, analysis_claimed_by = ${input.worker},
        analysis_not_before = now() + (${input.leaseMs}::float8 * interval '1 millisecond')
      from c, media_sessions m
      where f.id = c.id and m.id = f.media_session_id
      returning f.id, f.analysis_attempts, m.session_id, f.frame_index as idx, f.mime_type, f.file_path, f.file_size,
        f.sha256, null::timestamptz as start_timestamp, null::timestamptz as end_timestamp, null::bigint as duration_ms,
        f.chunk_index, f.offset_ms, f."timestamp" as ts`;
  }

  async complete(input: CompleteInput): Promise<boolean> {
    return translated(async () => {
      const rows =
        input.kind === "audio"
          ? await this.sql`
              update audio_chunks set processed = true, analysis = ${input.analysisJson}::text::jsonb,
                transcription = ${input.transcription}, analysis_claimed_by = null, analysis_not_before = null,
                analysis_error = null, analyzed_at = now()
              where id = ${input.rowId} and analysis_claimed_by = ${input.worker} and analysis_attempts = ${input.attempt}
                and not processed and not analysis_failed
              returning id`
          : await this.sql`
              update video_frames set processed = true, analysis = ${input.analysisJson}::text::jsonb,
                analysis_claimed_by = null, analysis_not_before = null, analysis_error = null, analyzed_at = now()
              where id = ${input.rowId} and analysis_claimed_by = ${input.worker} and analysis_attempts = ${input.attempt}
                and not processed and not analysis_failed
              returning id`;
      return rows.length === 1;
    });
  }

  async fail(input: FailInput): Promise<{ failed: boolean } | null> {
    return translated(async () => {
      const t = this.sql(TABLE[input.kind]);
      const [row] = await this.sql<{ analysis_failed: boolean }[]>`
        update ${t} set analysis_claimed_by = null, analysis_error = ${input.reason},
          analysis_failed = (${input.permanent} or analysis_attempts >= ${input.maxAttempts}),
          analysis_not_before = now() + (${input.retryAfterMs}::float8 * interval '1 millisecond')
        where id = ${input.rowId} and analysis_claimed_by = ${input.worker} and analysis_attempts = ${input.attempt}
          and not processed and not analysis_failed
        returning analysis_failed`;
      return row ? { failed: row.analysis_failed } : null;
    });
  }

  async sessionAnalysis(sessionId: string, chunksAfter: number, framesAfter: number, limit: number): Promise<SessionAnalysisPage | null> {
    return translated(async () => {
      const [session] = await this.sql<{ id: string }[]>`select id from media_sessions where session_id = ${sessionId}`;
      if (!session) return null;
      const id = session.id;
      const chunks = await this.sql<
        { chunk_index: string; processed: boolean; analysis_failed: boolean; analysis_error: string | null; transcription: string | null; analysis: string | null; start_timestamp: Date | null; end_timestamp: Date | null }[]
      >`
        select chunk_index, processed, analysis_failed, analysis_error, transcription, analysis::text as analysis, start_timestamp, end_timestamp
        from audio_chunks where media_session_id = ${id} and chunk_index > ${chunksAfter}
        order by chunk_index limit ${limit + 1}`;
      const frames = await this.sql<
        { frame_index: string; processed: boolean; analysis_failed: boolean; analysis_error: string | null; analysis: string | null; chunk_index: string; offset_ms: string | null; ts: Date | null }[]
      >`
        select frame_index, processed, analysis_failed, analysis_error, analysis::text as analysis, chunk_index, offset_ms, "timestamp" as ts
        from video_frames where media_session_id = ${id} and frame_index > ${framesAfter}
        order by frame_index limit ${limit + 1}`;
      const timing = await this.sql<
        { chunk_index: string; start_timestamp: Date | null; end_timestamp: Date | null; processed: boolean; analysis_failed: boolean; segments: string | null }[]
      >`
        select chunk_index, start_timestamp, end_timestamp, processed, analysis_failed, (analysis -> 'speech_segments')::text as segments
        from audio_chunks where media_session_id = ${id} order by chunk_index`;
      const [counts] = await this.sql<{ total: string; processed: string; failed: string; without_face: string; black: string; frozen: string }[]>`
        select count(*) as total,
          count(*) filter (where processed) as processed,
          count(*) filter (where analysis_failed) as failed,
          count(*) filter (where processed and jsonb_typeof(analysis -> 'faces') = 'array' and jsonb_array_length(analysis -> 'faces') = 0) as without_face,
          count(*) filter (where processed and (analysis -> 'quality' ->> 'black') = 'true') as black,
          count(*) filter (where processed and (analysis -> 'quality' ->> 'frozen') = 'true') as frozen
        from video_frames where media_session_id = ${id}`;
      const events = await this.sql<{ event_index: string; kind: string; phase: string; at: Date; detail: string | null }[]>`
        select event_index, kind, phase, "at", detail::text as detail from capture_events
        where media_session_id = ${id} order by event_index limit ${MAX_CAPTURE_EVENTS_LISTED}`;
      const starts = timing.map((t) => dateToMs(t.start_timestamp)).filter((ms) => ms > 0);
      const frameCounts: FrameCounts = {
        total: Number(counts?.total ?? 0),
        processed: Number(counts?.processed ?? 0),
        failed: Number(counts?.failed ?? 0),
        withoutFace: Number(counts?.without_face ?? 0),
        black: Number(counts?.black ?? 0),
        frozen: Number(counts?.frozen ?? 0),
      };
      return {
        chunks: chunks.slice(0, limit).map(
          (c): AnalysedChunkRow => ({
            chunkIndex: Number(c.chunk_index),
            processed: c.processed,
            failed: c.analysis_failed,
            error: c.analysis_error ?? "",
            transcription: c.transcription,
            analysisJson: c.analysis ?? "",
            startMs: dateToMs(c.start_timestamp),
            endMs: dateToMs(c.end_timestamp),
          }),
        ),
        frames: frames.slice(0, limit).map(
          (f): AnalysedFrameRow => ({
            frameIndex: Number(f.frame_index),
            processed: f.processed,
            failed: f.analysis_failed,
            error: f.analysis_error ?? "",
            analysisJson: f.analysis ?? "",
            chunkIndex: Number(f.chunk_index),
            offsetMs: Number(f.offset_ms ?? 0),
            timestampMs: dateToMs(f.ts),
          }),
        ),
        moreChunks: chunks.length > limit,
        moreFrames: frames.length > limit,
        timing: timing.map(
          (t): ChunkTimingRow => ({
            chunkIndex: Number(t.chunk_index),
            startMs: dateToMs(t.start_timestamp),
            endMs: dateToMs(t.end_timestamp),
            processed: t.processed,
            failed: t.analysis_failed,
            speechSegmentsJson: t.segments ?? "",
          }),
        ),
        frameCounts,
        captureEvents: events.map((e): CaptureEventRow => ({ eventIndex: Number(e.event_index), kind: e.kind, phase: e.phase, atMs: dateToMs(e.at), detailJson: e.detail ?? "" })),
        timelineStartMs: starts.length ? Math.min(...starts) : 0,
      };
    });
  }

  async recordCaptureEvent(input: CaptureEventInput): Promise<WriteOutcome | null> {
    return translated(() =>
      this.sql.begin(async (tx) => {
        const [s] = await tx<{ id: string; owner_epoch: string }[]>`select id, owner_epoch from media_sessions where session_id = ${input.sessionId} for share`;
        if (!s) return null;
        if (Number(s.owner_epoch) !== input.ownerEpoch) throw staleEpoch(input.ownerEpoch, Number(s.owner_epoch));
        const detail = input.detailJson === "" ? null : input.detailJson;
        const at = new Date(input.atMs);
        const inserted = await tx`
          insert into capture_events (media_session_id, event_index, kind, phase, "at", detail)
          values (${s.id}, ${input.eventIndex}, ${input.kind}, ${input.phase}, ${at}, ${detail}::text::jsonb)
          on conflict (media_session_id, event_index) do nothing returning id`;
        if (inserted.length === 1) return "created" as const;
        const [same] = await tx<{ same: boolean }[]>`
          select (kind = ${input.kind} and phase = ${input.phase} and "at" = ${at}
            and detail is not distinct from ${detail}::text::jsonb) as same
          from capture_events where media_session_id = ${s.id} and event_index = ${input.eventIndex}`;
        return same?.same ? ("identical" as const) : ("conflict" as const);
      }) as Promise<WriteOutcome | null>,
    );
  }
}

function toWorkItem(kind: AnalysisKindName, r: ClaimedRow): WorkItem {
  return {
    kind,
    rowId: Number(r.id),
    attempt: r.analysis_attempts,
    sessionId: r.session_id,
    index: Number(r.idx),
    mediaType: r.mime_type,
    filePath: r.file_path,
    fileSize: Number(r.file_size),
    sha256Hex: r.sha256,
    startMs: dateToMs(r.start_timestamp),
    endMs: dateToMs(r.end_timestamp),
    durationMs: Number(r.duration_ms ?? 0),
    chunkIndex: Number(r.chunk_index),
    offsetMs: Number(r.offset_ms ?? 0),
    timestampMs: dateToMs(r.ts),
  };
}
