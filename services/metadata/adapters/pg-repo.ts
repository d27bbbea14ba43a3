/**
 * @module metadata/adapters/pg-repo
 * PgSessionRepo: the SessionRepo port on PostgreSQL through postgres.js. The same SQL runs on a
 * real PostgreSQL 15 and on the embedded PGlite (served over the wire protocol, pglite-server.ts).
 *
 * How RecordBlobs maps onto SQL: one transaction per batch (group commit) in ONE round trip. Four
 * queries go out together on a reserved connection, none waiting for the previous one's answer
 * (one socket write, two above 1 KiB where postgres.js flushes; only a connection's first batch
 * waits while postgres.js prepares the statements), and PostgreSQL runs them in order:
 *  1. `begin`;
 *  2. lock the batch's media_sessions rows `FOR UPDATE`, in id order. Every writer of a session
 *     takes this lock first, so two batches of one session serialize (totals stay exact, a
 *     re-sent index sees the committed row) and batches of many sessions cannot deadlock. It is a
 *     statement of its own because a statement's snapshot is taken when it starts: the next one
 *     starts once the locks are held and sees all that their previous holder committed;
 *  3. one data statement. Its rows carry the session UUID; it keeps those of the sessions that
 *     statement 2 locked and that accept blobs, `INSERT ... ON CONFLICT DO NOTHING RETURNING`s the
 *     chunks then the frames (a frame joins its chunk row, older or inserted by this statement),
 *     back-fills audio_chunk_id of frames that arrived before their chunk, adds the inserted rows
 *     to total_chunks / total_frames, touches last_activity (reviving an abandoned session), and
 *     answers each row: created or not, and the sha256 now stored under its index;
 *  4. `commit`. If a statement failed, PostgreSQL refuses the rest and answers ROLLBACK; the first
 *     error is thrown (the core then retries the items one by one).
 * What goes into statement 3 is decided by the core before the sessions are known
 * (`itemsToInsert`: valid items, the first of each key); which statuses accept blobs and what a
 * blob makes of them is the core's STATUS_AFTER_BLOB, a jsonb parameter of statement 3. The core
 * derives the answers from statement 2's rows and statement 3's (`planBatch`, `decideOutcomes`).
 * Row sets travel as ONE jsonb parameter (`jsonb_to_recordset`), so each statement has a fixed
 * shape whatever the batch size and prepared statements are reused.
 * Every lookup is written so that it can only run as an index probe per batch row (`= any(array(...))`,
 * correlated scalar subqueries, `lateral ... offset 0`): PostgreSQL estimates 100 rows for
 * jsonb_to_recordset and would otherwise hash-join it against a full scan of the table, making
 * each batch cost O(rows stored). test/integration/metadata-plans.test.ts holds this in place.
 *
 * PostgreSQL errors are translated to AppError here (`translatePgError`), where they are first seen.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import postgres from "postgres";
import { AppError, toAppError } from "../../shared/errors";
import { blobKey, staleEpoch } from "../core/blobs";
import { parseMigrationFiles, pendingMigrations } from "../core/migrations";
import type {
  AudioChunkRecord,
  BlobItem,
  BlobRowKey,
  BlobRowsWritten,
  InterviewSession,
  OpenSessionInput,
  Session,
  SessionLease,
  SessionRef,
  SessionRepo,
  SessionStatusName,
  StoredRanges,
  VideoFrameRecord,
} from "../core/model";
import { STATUS_AFTER_BLOB } from "../core/session";
import { connectionClosed, type PipelineLease, type PipelineSource, SharedPoolPipelines } from "./pg-pipeline";

export type Sql = postgres.Sql<{}>;
type Tx = postgres.TransactionSql<{}>;

export const MIGRATIONS_DIR = resolve(import.meta.dir, "../migrations");

/** pg_advisory_xact_lock key of the migration runner ("candid" in ASCII). */
const MIGRATION_LOCK_KEY = 0x63616e646964;

/**
 * Opens a postgres.js pool. PGlite needs max: 1 (see docs/metadata.md). `extra`: further
 * postgres.js options (pg-pipeline.ts: onclose, fetch_types).
 */
export function connectPostgres(url: string, max: number, extra: Pick<postgres.Options<{}>, "onclose" | "fetch_types"> = {}): Sql {
  return postgres(url, {
    max,
    onnotice: () => {},
    connect_timeout: 10,
    connection: { application_name: "candid-metadata" },
    ...extra,
  });
}

const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

function errorCode(err: unknown): string {
  return String((err as { code?: unknown } | null)?.code ?? "");
}

/** The connection is gone (or the server refuses connections). */
function isConnectionError(err: unknown): boolean {
  const code = errorCode(err);
  return CONNECTION_CODES.has(code) || code.startsWith("08") || code === "57P01" || code === "57P03";
}

/** A postgres.js / PostgreSQL error -> AppError. The original stays as `cause` (logged once, never sent). */
export function translatePgError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isConnectionError(err)) return new AppError("UPSTREAM_UNAVAILABLE", "database unavailable", {}, { cause: err });
  const code = errorCode(err);
  // 22xxx data exceptions (bad value / out of range), 23514 check violation: the caller's input.
  if (code.startsWith("22") || code === "23514") return new AppError("INVALID_MESSAGE", "a field value is out of range", {}, { cause: err });
  return toAppError(err);
}

async function translated<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw translatePgError(err);
  }
}

/**
 * Applies pending migrations in one transaction under an advisory lock: safe to run twice and
 * from several processes at once (the second waits, then finds nothing to do). Returns the
 * versions it applied.
 */
export async function runMigrations(sql: Sql, dir = MIGRATIONS_DIR): Promise<number[]> {
  const all = parseMigrationFiles(readdirSync(dir));
  return translated(
    () =>
      sql.begin(async (tx) => {
        await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY}::bigint)`;
        await tx.unsafe(
          "create table if not exists schema_migrations (version integer primary key, name text not null, applied_at timestamptz not null default now())",
        );
        const rows = await tx<{ version: number }[]>`select version from schema_migrations`;
        const applied: number[] = [];
        for (const m of pendingMigrations(all, rows.map((r) => r.version))) {
          await tx.unsafe(readFileSync(join(dir, m.file), "utf8"));
          await tx`insert into schema_migrations (version, name) values (${m.version}, ${m.name})`;
          applied.push(m.version);
        }
        return applied;
      }) as Promise<number[]>,
  );
}

/**
 * Sends queries pipelined on one reserved connection, in array order (a postgres.js query is sent
 * by its first then/catch), and settles them all. On a lost connection postgres.js 3.4.9 rejects
 * the queries it has sent but never settles those it still held back (behind a statement it is
 * preparing, or a full socket): the first connection error, or the lease's `onLost` (the
 * connection closed), rejects at once instead. The subscription lives for this batch only.
 */
async function settlePipeline<T extends readonly Promise<unknown>[] | []>(queries: T, lease: Pick<PipelineLease, "onLost">) {
  let unsubscribe = () => {};
  const failed = new Promise<never>((_, reject) => {
    for (const q of queries) q.catch((err) => isConnectionError(err) && reject(err));
    unsubscribe = lease.onLost(() => reject(connectionClosed()));
  });
  try {
    return await Promise.race([Promise.allSettled(queries), failed]);
  } finally {
    unsubscribe();
  }
}

/** JSON text for a `${json}::text::jsonb` parameter (text, so postgres.js does not re-encode it). */
function json(v: unknown): string {
  return JSON.stringify(v);
}

/** STATUS_AFTER_BLOB as statement 3 reads it: `(rules ->> status)` is the new status, null = refuses blobs. */
const BLOB_RULES = json(STATUS_AFTER_BLOB);

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
  owner_epoch: string | number;
  owner_instance: string | null;
  /** Present when the query computed it (`connectedSql`). */
  is_connected?: boolean;
}

/** Date (or null) -> Unix epoch milliseconds; 0 when unset. */
export function dateToMs(d: Date | null | undefined): number {
  return d ? d.getTime() : 0;
}

/** Unix epoch milliseconds -> ISO string for a TIMESTAMPTZ column; 0 (unset) and invalid -> null. */
export function msToIso(ms: number): string | null {
  if (!Number.isFinite(ms) || ms <= 0) return null;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

function idOrNull(v: string | number | null): number | null {
  return v === null ? null : Number(v);
}

/** `isConnected`: when the row does not carry is_connected (default false). */
export function rowToSession(row: SessionRow, isConnected = row.is_connected ?? false): Session {
  return {
    sessionId: row.session_id,
    status: row.status,
    totalChunks: Number(row.total_chunks),
    totalFrames: Number(row.total_frames),
    startedAtMs: dateToMs(row.started_at),
    lastActivityMs: dateToMs(row.last_activity),
    completedAtMs: dateToMs(row.completed_at),
    interviewSessionId: idOrNull(row.interview_session_id),
    userId: idOrNull(row.user_id),
    ownerEpoch: Number(row.owner_epoch),
    isConnected,
  };
}

/** An audio_chunks row of the data statement (`chunk_rows`). */
function chunkRow(r: AudioChunkRecord) {
  return {
    session_id: r.sessionId,
    chunk_index: r.chunkIndex,
    file_path: r.filePath,
    file_size: r.fileSize,
    mime_type: r.mimeType,
    start_timestamp: msToIso(r.startTimestampMs),
    end_timestamp: msToIso(r.endTimestampMs),
    duration_ms: r.durationMs,
    sha256: r.sha256Hex,
    owner_epoch: r.ownerEpoch,
  };
}

/** A video_frames row of the data statement (`frame_rows`). */
function frameRow(r: VideoFrameRecord) {
  return {
    session_id: r.sessionId,
    frame_index: r.frameIndex,
    chunk_index: r.chunkIndex,
    file_path: r.filePath,
    file_size: r.fileSize,
    mime_type: r.mimeType,
    ts: msToIso(r.timestampMs),
    offset_ms: r.offsetMs,
    sha256: r.sha256Hex,
    owner_epoch: r.ownerEpoch,
  };
}

/**
 * The runs of one kind's indices for a session (gaps and islands) in one pass over that
 * session's rows in index order: an index starts a run when its predecessor is not index - 1 and
 * ends one when its successor is not index + 1 (lag / lead); of those edges, a start's run ends
 * at itself when it also ends one, else at the next edge. Only the session's rows are read,
 * through an index on media_session_id (never a sequential scan: the plan test holds it), so the
 * cost is that of the session's rows whatever the tables hold. Past the window step every step
 * streams (no aggregate, no sort of runs): when PostgreSQL reads the (media_session_id, index)
 * unique index in order, `limit $2` also ends the scan after the runs it returns; for the few
 * dozen rows per session it estimates it may instead fetch and sort them all, which is as cheap.
 * $1 = session UUID, $2 = runs wanted.
 */
const runsOf = (table: string, column: string) => `
  select first, last from (
    select idx as first, case when is_end then idx else lead(idx) over (order by idx) end as last, is_start
    from (
      select idx,
        lag(idx) over w is distinct from idx - 1 as is_start,
        lead(idx) over w is distinct from idx + 1 as is_end
      from (
        select ${column} as idx from ${table}
        where media_session_id = (select id from media_sessions where session_id = $1::uuid)
      ) rows
      window w as (order by idx)
    ) edges
    where is_start or is_end
  ) runs
  where is_start
  order by first
  limit $2`;

/**
 * storedRanges' one statement: both kinds' runs, each the lowest $2, ascending (the `order by
 * first` costs no sort: the window steps already emit in index order).
 * Exported for the plan test (test/integration/metadata-plans.test.ts).
 */
export const STORED_RANGES_SQL = `
  select 'audio' as kind, first, last from (${runsOf("audio_chunks", "chunk_index")}) a
  union all
  select 'frame' as kind, first, last from (${runsOf("video_frames", "frame_index")}) f`;

export class PgSessionRepo implements SessionRepo {
  /**
   * `pipelines`: the connections of the RecordBlobs pipeline; against a real PostgreSQL
   * DedicatedPipelines (pg-pipeline.ts: postgres.js loses reserved connections of a shared pool
   * when connections drop). Default: reserve() on `sql` (PGlite's one connection).
   */
  /**
   * `leaseTtlMs`: how long a gateway instance's heartbeat keeps the sessions it holds connected
   * (METADATA_LEASE_TTL_MS).
   */
  constructor(
    private readonly sql: Sql,
    private readonly pipelines: PipelineSource = new SharedPoolPipelines(sql),
    private readonly leaseTtlMs = 3000,
  ) {}

  /** Refreshes a gateway instance's heartbeat (one row per instance). */
  private beat(tx: Sql | Tx, instance: string) {
    return tx`
      insert into gateway_instances (instance_id, heartbeat_at) values (${instance}, now())
      on conflict (instance_id) do update set heartbeat_at = excluded.heartbeat_at`;
  }

  /** Whether `instance` (a row's owner_instance) has a fresh heartbeat. */
  private async connected(tx: Sql | Tx, instance: string | null): Promise<boolean> {
    if (instance === null) return false;
    const [row] = await tx<{ ok: boolean }[]>`
      select heartbeat_at > now() - (${this.leaseTtlMs}::float8 * interval '1 millisecond') as ok
      from gateway_instances where instance_id = ${instance}`;
    return row?.ok ?? false;
  }

  private tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return translated(() => this.sql.begin(fn) as Promise<T>);
  }

  async ping(): Promise<boolean> {
    const [row] = await this.sql`select 1 as ok`;
    return row?.ok === 1;
  }

  async createInterviewSession(title: string, retentionDays: number | null = null): Promise<number> {
    return translated(async () => {
      const [row] = await this.sql<{ id: string }[]>`insert into interview_sessions (title, retention_days) values (${title}, ${retentionDays}) returning id`;
      return Number(row!.id);
    });
  }

  async getInterviewSession(interviewSessionId: number): Promise<InterviewSession | null> {
    return translated(async () => {
      // An interview whose erasure was requested is gone for every reader (docs/retention.md).
      const [row] = await this.sql<{ id: string; title: string; created_at: Date; retention_days: number | null; legal_hold: boolean }[]>`
        select id, title, created_at, retention_days, legal_hold from interview_sessions
        where id = ${interviewSessionId} and erasure_requested_at is null`;
      return row
        ? { interviewSessionId: Number(row.id), title: row.title, createdAtMs: dateToMs(row.created_at), retentionDays: row.retention_days, legalHold: row.legal_hold }
        : null;
    });
  }

  async openSession(input: OpenSessionInput, decide: (existing: Session) => SessionStatusName): Promise<{ session: Session; created: boolean }> {
    const sessionId = input.sessionId;
    return this.tx(async (tx) => {
      let [row] = await tx<SessionRow[]>`select * from media_sessions where session_id = ${sessionId} for update`;
      if (!row) {
        if (input.interviewSessionId !== undefined) {
          // FOR SHARE: waits for a concurrent RequestErasure (FOR UPDATE) and then sees its mark.
          const [found] = await tx`select 1 from interview_sessions where id = ${input.interviewSessionId} and erasure_requested_at is null for share`;
          if (!found) throw new AppError("INTERVIEW_SESSION_NOT_FOUND", undefined, { field: "interview_session_id" });
        }
        const [created] = await tx<SessionRow[]>`
          insert into media_sessions (session_id, interview_session_id, user_id, storage_path, owner_epoch, owner_instance)
          values (${sessionId}, ${input.interviewSessionId ?? null}, ${input.userId ?? null}, ${input.storagePath}, 1, ${input.ownerInstance})
          on conflict (session_id) do nothing
          returning *`;
        if (created) {
          await this.beat(tx, input.ownerInstance);
          return { session: rowToSession(created, true), created: true };
        }
        // Another OpenSession created it between our SELECT and INSERT: resume that one.
        [row] = await tx<SessionRow[]>`select * from media_sessions where session_id = ${sessionId} for update`;
        if (!row) throw new AppError("INTERNAL", "session vanished during open");
      }
      const status = decide(rowToSession(row)); // may throw (SESSION_MISMATCH / SESSION_COMPLETED)
      if (row.interview_session_id !== null) {
        // A session of an interview being erased does not open again (a request that came first
        // bumped its epoch: a request coming now waits for this lock and bumps it after us).
        const [erasing] = await tx`select 1 from interview_sessions where id = ${row.interview_session_id} and erasure_requested_at is not null`;
        if (erasing) throw new AppError("INTERVIEW_SESSION_NOT_FOUND", undefined, { field: "interview_session_id" });
      }
      // The takeover: a new epoch, so the previous owner's records are refused from now on.
      const [updated] = await tx<SessionRow[]>`
        update media_sessions set status = ${status}, last_activity = now(),
          owner_epoch = owner_epoch + 1, owner_instance = ${input.ownerInstance}
        where id = ${row.id} returning *`;
      await this.beat(tx, input.ownerInstance);
      return { session: rowToSession(updated!, true), created: false };
    });
  }

  /** One transaction, one round trip: see the module comment. */
  async writeBlobRows(toInsert: BlobItem[]): Promise<BlobRowsWritten> {
    try {
      return await this.writeBatch(toInsert);
    } catch (err) {
      throw translatePgError(err);
    }
  }

  private async writeBatch(toInsert: BlobItem[]): Promise<BlobRowsWritten> {
    const uuids = [...new Set(toInsert.map((i) => i.record.sessionId))];
    const chunkRows = toInsert.flatMap((i) => (i.kind === "audio" ? [chunkRow(i.record)] : []));
    const frameRows = toInsert.flatMap((i) => (i.kind === "frame" ? [frameRow(i.record)] : []));

    const lease = await this.pipelines.acquire();
    const c = lease.sql;
    let settled = false;
    try {
      // Sent together: PostgreSQL runs them in order, so the data statement takes its snapshot
      // once the lock statement holds its row locks.
      const pipeline = settlePipeline([
        c`begin`,
        c<{ id: string; session_id: string; status: SessionRow["status"]; owner_epoch: string }[]>`
          select id, session_id, status, owner_epoch from media_sessions
          where session_id = any(array(select jsonb_array_elements_text(${json(uuids)}::text::jsonb)::uuid))
          order by id
          for update`,
        // - sessions: those the lock statement locked (xmax = this transaction: a session created
        //   after that statement began is visible here but was not locked, and planBatch answers
        //   it SESSION_NOT_FOUND) and that accept blobs (BLOB_RULES maps their status);
        // - the fence: a row joins its session only under the session's current owner_epoch
        //   (planBatch answers the others SESSION_TAKEN_OVER from the lock statement's epoch);
        // - insert the new chunks and frames (ON CONFLICT DO NOTHING: re-sends insert nothing);
        // - a frame gets its chunk's id whether the chunk is older or in this very batch (ins_a:
        //   data-modifying CTEs do not see each other's rows, so the batch's chunks are joined in);
        // - frames stored before their chunk get its id now (link);
        // - every touched session counts what was inserted, refreshes last_activity, and takes the
        //   status BLOB_RULES gives it (revived if the reaper had marked it abandoned meanwhile);
        //   a session whose rows were all fenced out is left as it was;
        // - answer each row: created, and the sha256 now stored under its index (a row this
        //   statement did not insert is older, hence in its snapshot: writers of a session commit
        //   before its lock is free).
        c<{ kind: "audio" | "frame"; media_session_id: string; idx: string; created: boolean; sha256: string | null }[]>`
          with chunk_rows as (
            select * from jsonb_to_recordset(${json(chunkRows)}::text::jsonb) as x(
              session_id uuid, chunk_index bigint, file_path text, file_size bigint, mime_type text,
              start_timestamp timestamptz, end_timestamp timestamptz, duration_ms bigint, sha256 text, owner_epoch bigint)
          ), frame_rows as (
            select * from jsonb_to_recordset(${json(frameRows)}::text::jsonb) as x(
              session_id uuid, frame_index bigint, chunk_index bigint, file_path text, file_size bigint, mime_type text,
              ts timestamptz, offset_ms bigint, sha256 text, owner_epoch bigint)
          ), sessions as (
            select m.id, m.session_id, m.owner_epoch from media_sessions m
            where m.session_id = any(array(select session_id from chunk_rows union select session_id from frame_rows))
              and (${BLOB_RULES}::text::jsonb ->> m.status) is not null and m.xmax = pg_current_xact_id()::xid
          ), chunks as (
            select s.id as media_session_id, x.* from chunk_rows x join sessions s on s.session_id = x.session_id and s.owner_epoch = x.owner_epoch
          ), frames as (
            select s.id as media_session_id, x.* from frame_rows x join sessions s on s.session_id = x.session_id and s.owner_epoch = x.owner_epoch
          ), ins_a as (
            insert into audio_chunks (media_session_id, chunk_index, file_path, file_size, mime_type, start_timestamp, end_timestamp, duration_ms, sha256)
            select media_session_id, chunk_index, file_path, file_size, mime_type, start_timestamp, end_timestamp, duration_ms, sha256 from chunks
            on conflict (media_session_id, chunk_index) do nothing
            returning id, media_session_id, chunk_index
          ), ins_f as (
            insert into video_frames (media_session_id, audio_chunk_id, frame_index, chunk_index, file_path, file_size, mime_type, "timestamp", offset_ms, sha256)
            select x.media_session_id,
              coalesce(
                (select a.id from audio_chunks a where a.media_session_id = x.media_session_id and a.chunk_index = x.chunk_index),
                (select ia.id from ins_a ia where ia.media_session_id = x.media_session_id and ia.chunk_index = x.chunk_index)),
              x.frame_index, x.chunk_index, x.file_path, x.file_size, x.mime_type, x.ts, x.offset_ms, x.sha256
            from frames x
            on conflict (media_session_id, frame_index) do nothing
            returning media_session_id, frame_index
          ), link as (
            update video_frames f set audio_chunk_id =
              (select ia.id from ins_a ia where ia.media_session_id = f.media_session_id and ia.chunk_index = f.chunk_index)
            where f.id = any(array(
              select v.id from ins_a ia cross join lateral (
                select v.id from video_frames v
                where v.media_session_id = ia.media_session_id and v.chunk_index = ia.chunk_index and v.audio_chunk_id is null
                offset 0) v))
          ), upd as (
            update media_sessions m set
              total_chunks = m.total_chunks + (select count(*) from ins_a where ins_a.media_session_id = m.id),
              total_frames = m.total_frames + (select count(*) from ins_f where ins_f.media_session_id = m.id),
              last_activity = now(),
              status = ${BLOB_RULES}::text::jsonb ->> m.status
            where m.id = any(array(select media_session_id from chunks union select media_session_id from frames))
          )
          select 'audio' as kind, x.media_session_id, x.chunk_index as idx, i.id is not null as created,
            case when i.id is not null then x.sha256 else
              (select a.sha256 from audio_chunks a where a.media_session_id = x.media_session_id and a.chunk_index = x.chunk_index) end as sha256
          from chunks x left join ins_a i on i.media_session_id = x.media_session_id and i.chunk_index = x.chunk_index
          union all
          select 'frame' as kind, x.media_session_id, x.frame_index as idx, i.frame_index is not null as created,
            case when i.frame_index is not null then x.sha256 else
              (select f.sha256 from video_frames f where f.media_session_id = x.media_session_id and f.frame_index = x.frame_index) end as sha256
          from frames x left join ins_f i on i.media_session_id = x.media_session_id and i.frame_index = x.frame_index`,
        c`commit`,
      ], lease);
      const [begin, lock, data, commit] = await pipeline;
      settled = true;
      const errors = [begin, lock, data, commit].flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
      // The first error is the real one: PostgreSQL then refuses the rest of the transaction
      // (25P02) and answers the commit with ROLLBACK.
      if (errors.length || lock.status === "rejected" || data.status === "rejected") throw errors[0];

      const sessions = new Map<string, SessionRef>(lock.value.map((r) => [r.session_id, { id: String(r.id), status: r.status, ownerEpoch: Number(r.owner_epoch) }]));
      const inserted = new Set<string>();
      const stored = new Map<string, string>();
      for (const r of data.value) {
        const key = blobKey(String(r.media_session_id), r.kind, Number(r.idx));
        if (r.created) inserted.add(key);
        if (r.sha256 !== null) stored.set(key, r.sha256);
      }
      // Session totals were updated in the data statement, from what it inserted (= created).
      return { sessions, inserted, stored };
    } finally {
      // Reused only when idle outside a transaction; a lost connection is never handed back.
      this.pipelines.release(lease, settled);
    }
  }

  async completeSession(sessionId: string, claimedChunks: number, claimedFrames: number, ownerEpoch: number): Promise<{ session: Session; chunkIndices: number[]; frameIndices: number[] } | null> {
    return this.tx(async (tx) => {
      let [row] = await tx<SessionRow[]>`select * from media_sessions where session_id = ${sessionId} for update`;
      if (!row) return null;
      if (Number(row.owner_epoch) !== ownerEpoch) throw staleEpoch(ownerEpoch, Number(row.owner_epoch));
      if (row.status !== "completed") {
        [row] = await tx<SessionRow[]>`
          update media_sessions set status = 'completed', completed_at = now(), last_activity = now()
          where id = ${row.id} returning *`;
      }
      const chunks = await tx<{ i: string }[]>`
        select chunk_index as i from audio_chunks where media_session_id = ${row!.id} and chunk_index < ${claimedChunks}`;
      const frames = await tx<{ i: string }[]>`
        select frame_index as i from video_frames where media_session_id = ${row!.id} and frame_index < ${claimedFrames}`;
      return {
        session: rowToSession(row!, await this.connected(tx, row!.owner_instance)),
        chunkIndices: chunks.map((r) => Number(r.i)),
        frameIndices: frames.map((r) => Number(r.i)),
      };
    });
  }

  async getSession(sessionId: string): Promise<Session | null> {
    return translated(async () => {
      const [row] = await this.sql<SessionRow[]>`
        select m.*, coalesce((select g.heartbeat_at > now() - (${this.leaseTtlMs}::float8 * interval '1 millisecond')
          from gateway_instances g where g.instance_id = m.owner_instance), false) as is_connected
        from media_sessions m where m.session_id = ${sessionId}
          and not exists (select 1 from interview_sessions i where i.id = m.interview_session_id and i.erasure_requested_at is not null)`;
      return row ? rowToSession(row) : null;
    });
  }

  /**
   * One statement for the whole page. Each key is answered by scalar subqueries (index probes on
   * media_sessions.session_id and the (media_session_id, index) unique keys), never a join the
   * planner could turn into a scan of a whole table (see the module comment).
   */
  async lookupBlobRows(keys: readonly BlobRowKey[]): Promise<(string | null)[]> {
    return translated(async () => {
      const rows = await this.sql<{ i: number; file_path: string | null }[]>`
        select x.i, case x.kind
          when 'audio' then (select a.file_path from audio_chunks a
            where a.media_session_id = (select m.id from media_sessions m where m.session_id = x.session_id) and a.chunk_index = x.idx)
          else (select f.file_path from video_frames f
            where f.media_session_id = (select m.id from media_sessions m where m.session_id = x.session_id) and f.frame_index = x.idx)
          end as file_path
        from jsonb_to_recordset(${json(keys.map((k, i) => ({ i, session_id: k.sessionId, kind: k.kind, idx: k.index })))}::text::jsonb)
          as x(i integer, session_id uuid, kind text, idx bigint)`;
      const out: (string | null)[] = keys.map(() => null);
      for (const r of rows) out[r.i] = r.file_path;
      return out;
    });
  }

  async storedRanges(sessionId: string, maxRanges: number): Promise<StoredRanges> {
    return translated(async () => {
      // One more run than asked: its presence says the list is cut.
      const rows = await this.sql.unsafe<{ kind: "audio" | "frame"; first: string; last: string }[]>(STORED_RANGES_SQL, [sessionId, maxRanges + 1], { prepare: true });
      const out: StoredRanges = { chunks: [], frames: [], chunksTruncated: false, framesTruncated: false };
      for (const r of rows) {
        const list = r.kind === "audio" ? out.chunks : out.frames;
        if (list.length < maxRanges) list.push([Number(r.first), Number(r.last)]);
        else if (r.kind === "audio") out.chunksTruncated = true;
        else out.framesTruncated = true;
      }
      return out;
    });
  }

  async abandonIdleSessions(idleMs: number, limit: number): Promise<string[]> {
    return translated(async () => {
      // SKIP LOCKED: a session busy in a RecordBlobs transaction is not idle; leave it. Nor is
      // one whose lease is held by a live gateway (a quiet candidate still connected).
      const rows = await this.sql<{ session_id: string }[]>`
        update media_sessions set status = 'abandoned'
        where id in (
          select m.id from media_sessions m
          where m.status = 'active' and m.last_activity < now() - (${idleMs}::float8 * interval '1 millisecond')
            and not exists (select 1 from gateway_instances g where g.instance_id = m.owner_instance
              and g.heartbeat_at > now() - (${this.leaseTtlMs}::float8 * interval '1 millisecond'))
          order by m.last_activity
          limit ${limit}
          for update skip locked)
        returning session_id`;
      // Instances silent for a day are gone (pod names do not come back): forget them.
      await this.sql`delete from gateway_instances where heartbeat_at < now() - interval '1 day'`;
      return rows.map((r) => r.session_id);
    });
  }

  async renewLeases(ownerInstance: string, leases: readonly SessionLease[]): Promise<string[]> {
    return translated(async () => {
      // One write (the heartbeat); the leases are read (index probes on session_id), never locked.
      const rows = await this.sql<{ session_id: string }[]>`
        with beat as (
          insert into gateway_instances (instance_id, heartbeat_at) values (${ownerInstance}, now())
          on conflict (instance_id) do update set heartbeat_at = excluded.heartbeat_at
        )
        select l.session_id::text as session_id
        from jsonb_to_recordset(${json(leases.map((l) => ({ session_id: l.sessionId, owner_epoch: l.ownerEpoch })))}::text::jsonb)
          as l(session_id uuid, owner_epoch bigint)
        where not exists (
          select 1 from media_sessions m
          where m.session_id = l.session_id and m.owner_epoch = l.owner_epoch and m.owner_instance = ${ownerInstance})`;
      return rows.map((r) => r.session_id);
    });
  }

  async releaseSession(sessionId: string, ownerEpoch: number, ownerInstance: string): Promise<boolean> {
    return translated(async () => {
      const rows = await this.sql`
        update media_sessions set owner_instance = null
        where session_id = ${sessionId} and owner_epoch = ${ownerEpoch} and owner_instance = ${ownerInstance}
        returning 1`;
      return rows.length === 1;
    });
  }
}
