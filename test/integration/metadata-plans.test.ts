/**
 * RecordBlobs must cost the same whatever the tables hold: on a real PostgreSQL with thousands of
 * sessions and tens of thousands of rows (analyzed), recording a batch (new chunks, frames before
 * and after their chunk, re-sends) may not scan any of the three tables sequentially. Counted
 * with pg_stat_user_tables, which a backend flushes when it exits (hence one pool per batch).
 * The per-batch session update must be HOT (no index holds what it changes).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import postgres from "postgres";
import { connectPostgres, PgSessionRepo, runMigrations } from "../../services/metadata/adapters/pg-repo";
import type { BlobItem } from "../../services/metadata/core/model";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

const SESSIONS = 2_000;
const ROWS_PER_SESSION = 20;
const TABLES = ["media_sessions", "audio_chunks", "video_frames"];

let db: TestDatabase;
let admin: postgres.Sql;

beforeAll(async () => {
  db = await createTestDatabase("candid_plans");
  // Populated on its own connection, closed before counting (its own seq scans are flushed then).
  const setup = postgres(db.url, { max: 1, onnotice: () => {} });
  await runMigrations(setup);
  await setup.unsafe(`
    insert into media_sessions (session_id, storage_path) select gen_random_uuid(), 'p' from generate_series(1, ${SESSIONS});
    insert into audio_chunks (media_session_id, chunk_index, file_path, file_size, mime_type, sha256)
      select m.id, i, 'p', 1, 'audio/webm', md5(i::text) from media_sessions m, generate_series(0, ${ROWS_PER_SESSION - 1}) i;
    insert into video_frames (media_session_id, audio_chunk_id, frame_index, chunk_index, file_path, file_size, mime_type, sha256)
      select m.id, null, i, ${ROWS_PER_SESSION} + i / 5, 'p', 1, 'image/jpeg', md5(i::text) from media_sessions m, generate_series(0, ${ROWS_PER_SESSION - 1}) i;
    analyze;`);
  await setup.end({ timeout: 5 });
  await Bun.sleep(300);
  admin = postgres(db.url, { max: 1, onnotice: () => {} });
}, 60_000);

afterAll(async () => {
  await admin?.end({ timeout: 5 });
  await db?.drop();
});

async function tableStats(): Promise<{ seqScans: Record<string, number>; sessionUpdates: number; sessionHotUpdates: number }> {
  await admin`select pg_stat_clear_snapshot()`;
  const rows = await admin<{ relname: string; seq_scan: string; n_tup_upd: string; n_tup_hot_upd: string }[]>`
    select relname, seq_scan, n_tup_upd, n_tup_hot_upd from pg_stat_user_tables where relname in ${admin(TABLES)}`;
  const sessions = rows.find((r) => r.relname === "media_sessions")!;
  return {
    seqScans: Object.fromEntries(rows.map((r) => [r.relname, Number(r.seq_scan)])),
    sessionUpdates: Number(sessions.n_tup_upd),
    sessionHotUpdates: Number(sessions.n_tup_hot_upd),
  };
}

/** Runs fn on a fresh pool and closes it, so the backend exits and flushes its table statistics. */
async function withRepo(fn: (repo: PgSessionRepo) => Promise<void>): Promise<void> {
  const sql = connectPostgres(db.url, 1);
  try {
    await fn(new PgSessionRepo(sql));
  } finally {
    await sql.end({ timeout: 5 });
  }
  await Bun.sleep(300); // the exiting backend reports its counters
}

const sha = (n: number) => n.toString(16).padStart(64, "0");
const audio = (sessionId: string, chunkIndex: number, s = sha(chunkIndex)): BlobItem => ({
  kind: "audio",
  record: { sessionId, chunkIndex, filePath: `a/${chunkIndex}`, fileSize: 1, mimeType: "audio/webm", startTimestampMs: 0, endTimestampMs: 0, durationMs: 0, sha256Hex: s },
});
const frame = (sessionId: string, frameIndex: number, chunkIndex: number): BlobItem => ({
  kind: "frame",
  record: { sessionId, frameIndex, chunkIndex, filePath: `f/${frameIndex}`, fileSize: 1, mimeType: "image/jpeg", timestampMs: 0, offsetMs: 0, sha256Hex: sha(frameIndex) },
});

test("recording a batch into big tables uses indexes only", async () => {
  const ids = (await admin<{ session_id: string }[]>`select session_id from media_sessions order by id limit 3`).map((r) => r.session_id);
  const [s1, s2, s3] = ids as [string, string, string];
  const before = await tableStats();
  const outcomes: string[] = [];
  const record = async (items: BlobItem[]) =>
    withRepo(async (repo) => {
      for (const r of await repo.recordBlobs(items)) outcomes.push("outcome" in r ? r.outcome : r.error.code);
    });
  // Frames whose chunk is stored / in this batch / not yet stored; new chunks that link stored frames.
  await record([
    frame(s1, 100, 0),
    audio(s1, 100),
    frame(s1, 101, 100),
    frame(s2, 100, 500),
    audio(s3, ROWS_PER_SESSION), // links the stored frames 0..4 of s3
  ]);
  // Re-sends: identical and conflicting.
  await record([audio(s1, 100), audio(s1, 0, sha(999)), frame(s2, 100, 500)]);
  expect(outcomes).toEqual(["CREATED", "CREATED", "CREATED", "CREATED", "CREATED", "IDENTICAL", "CONFLICT", "IDENTICAL"]);
  const after = await tableStats();
  expect(after.seqScans).toEqual(before.seqScans);
  // Each batch updated its sessions' totals and last_activity: HOT updates only (migration 002).
  expect(after.sessionUpdates - before.sessionUpdates).toBeGreaterThanOrEqual(4);
  expect(after.sessionHotUpdates - before.sessionHotUpdates).toBe(after.sessionUpdates - before.sessionUpdates);

  const linked = await admin<{ frame_index: string; chunk: string | null }[]>`
    select f.frame_index, a.chunk_index as chunk from video_frames f
    join media_sessions m on m.id = f.media_session_id
    left join audio_chunks a on a.id = f.audio_chunk_id
    where (m.session_id = ${s1} and f.frame_index in (100, 101)) or (m.session_id = ${s3} and f.frame_index < 6)
    order by m.session_id = ${s1}, f.frame_index`;
  expect(linked.map((r) => [Number(r.frame_index), r.chunk === null ? null : Number(r.chunk)])).toEqual([
    ...[0, 1, 2, 3, 4].map((i) => [i, ROWS_PER_SESSION]),
    [5, null],
    [100, 0],
    [101, 100],
  ]);
}, 60_000);
