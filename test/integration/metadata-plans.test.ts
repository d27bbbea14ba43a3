/**
 * RecordBlobs must cost the same whatever the tables hold: on a real PostgreSQL with thousands of
 * sessions and tens of thousands of rows (analyzed), recording a batch (new chunks, frames before
 * and after their chunk, re-sends) may not scan any of the three tables sequentially. Counted
 * with pg_stat_user_tables, which a backend flushes when it exits (hence one pool per batch).
 * The per-batch session update must be HOT (no index holds what it changes).
 * Then the pipelined batch transaction (begin, lock, data statement, commit in one round trip):
 * every outcome from one statement, a failing statement, a session created while the batch waits
 * for its locks, and a connection lost mid-batch. Last, OpenSession's stored ranges of a resumed
 * session: index only, stopping after the runs it returns.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import postgres from "postgres";
import { connectPostgres, PgSessionRepo, runMigrations, type Sql, STORED_RANGES_SQL } from "../../services/metadata/adapters/pg-repo";
import { Metadata } from "../../services/metadata/core/metadata";
import type { BlobItem, ItemResult } from "../../services/metadata/core/model";
import { createLogger } from "../../services/shared/log";
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
    insert into media_sessions (session_id, storage_path, owner_epoch) select gen_random_uuid(), 'p', 1 from generate_series(1, ${SESSIONS});
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
async function withRepo(fn: (repo: Metadata) => Promise<void>): Promise<void> {
  const sql = connectPostgres(db.url, 1);
  try {
    await fn(new Metadata(new PgSessionRepo(sql)));
  } finally {
    await sql.end({ timeout: 5 });
  }
  await Bun.sleep(300); // the exiting backend reports its counters
}

const sha = (n: number) => n.toString(16).padStart(64, "0");
const audio = (sessionId: string, chunkIndex: number, s = sha(chunkIndex), durationMs = 0): BlobItem => ({
  kind: "audio",
  record: { sessionId, chunkIndex, filePath: `a/${chunkIndex}`, fileSize: 1, mimeType: "audio/webm", startTimestampMs: 0, endTimestampMs: 0, durationMs, sha256Hex: s, ownerEpoch: 1 },
});
const frame = (sessionId: string, frameIndex: number, chunkIndex: number, s = sha(frameIndex)): BlobItem => ({
  kind: "frame",
  record: { sessionId, frameIndex, chunkIndex, filePath: `f/${frameIndex}`, fileSize: 1, mimeType: "image/jpeg", timestampMs: 0, offsetMs: 0, sha256Hex: s, ownerEpoch: 1 },
});
const answers = (rs: ItemResult[]) => rs.map((r) => ("outcome" in r ? r.outcome : r.error.code));

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
  expect(outcomes).toEqual(["created", "created", "created", "created", "created", "identical", "conflict", "identical"]);
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

/** One pool of one connection for the tests below, and the warnings the repo logged. */
async function withOneConnection(fn: (repo: Metadata, sql: Sql, warnings: string[]) => Promise<void>): Promise<void> {
  const sql = connectPostgres(db.url, 1);
  const warnings: string[] = [];
  const log = createLogger({}, { level: "warn", write: (line) => warnings.push(JSON.parse(line).msg) });
  const onBatchSplit = () => log.warn("batch failed, retrying items one by one");
  try {
    await fn(new Metadata(new PgSessionRepo(sql), { onBatchSplit }), sql, warnings);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function sessionRow(sessionId: string) {
  const [row] = await admin<{ status: string; total_chunks: number; total_frames: number; last_activity: Date }[]>`
    select status, total_chunks, total_frames, last_activity from media_sessions where session_id = ${sessionId}`;
  return row;
}

async function chunkShas(sessionId: string): Promise<[number, string][]> {
  const rows = await admin<{ chunk_index: string; sha256: string }[]>`
    select a.chunk_index, a.sha256 from audio_chunks a join media_sessions m on m.id = a.media_session_id
    where m.session_id = ${sessionId} order by a.chunk_index`;
  return rows.map((r) => [Number(r.chunk_index), r.sha256]);
}

/**
 * Holds the row lock of `sessionId` from another connection, runs `batch`, waits until the
 * repo's backend waits for that lock, runs `meanwhile(pid of that backend)`, then lets go.
 */
async function whileLocked<T>(sessionId: string, batch: () => Promise<T>, meanwhile: (pid: number) => Promise<unknown>): Promise<T> {
  const locker = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    await locker`begin`;
    await locker`select 1 from media_sessions where session_id = ${sessionId} for update`;
    const result = batch();
    let pid: number | undefined;
    for (let i = 0; i < 200 && pid === undefined; i++) {
      const waiting = await admin<{ pid: number }[]>`
        select pid from pg_stat_activity where application_name = 'candid-metadata' and wait_event_type = 'Lock'`;
      pid = waiting[0]?.pid;
      if (pid === undefined) await Bun.sleep(25);
    }
    if (pid === undefined) throw new Error("the batch never waited for the lock");
    await meanwhile(pid);
    await locker`commit`;
    return await result;
  } finally {
    await locker.end({ timeout: 5 });
  }
}

test("one pipelined batch: every outcome and item error, exact totals", async () => {
  await withOneConnection(async (repo, _sql, warnings) => {
    const [s1, done, unknown] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    await repo.openSession({ sessionId: s1, storagePath: "p", ownerInstance: "gw-1" });
    await repo.openSession({ sessionId: done, storagePath: "p", ownerInstance: "gw-1" });
    await repo.completeSession(done, 0, 0, 1);
    expect(answers(await repo.recordBlobs([audio(s1, 0), audio(s1, 1)]))).toEqual(["created", "created"]);

    const results = await repo.recordBlobs([
      audio(s1, 2), // new
      audio(s1, 0), // re-sent, same bytes
      audio(s1, 1, sha(99)), // re-sent, other bytes
      audio(s1, 3), // new ...
      audio(s1, 3), // ... and again in the same batch, same bytes
      audio(s1, 3, sha(98)), // ... and other bytes
      frame(s1, 0, 3), // new, its chunk inserted by this batch
      frame(s1, 0, 3, sha(97)),
      audio(unknown, 0),
      audio(done, 0),
      audio("not-a-uuid", 0),
      audio(s1, 4, "not-a-sha"),
    ]);
    expect(answers(results)).toEqual([
      "created",
      "identical",
      "conflict",
      "created",
      "identical",
      "conflict",
      "created",
      "conflict",
      "SESSION_NOT_FOUND",
      "SESSION_COMPLETED",
      "INVALID_SESSION_ID",
      "INVALID_MESSAGE",
    ]);
    expect(warnings).toEqual([]); // answered by the batch itself, not by the one-by-one retry
    expect(await sessionRow(s1)).toMatchObject({ status: "active", total_chunks: 4, total_frames: 1 });
    expect(await sessionRow(done)).toMatchObject({ status: "completed", total_chunks: 0, total_frames: 0 });
    expect(await sessionRow(unknown)).toBeUndefined();
    expect(await chunkShas(s1)).toEqual([0, 1, 2, 3].map((i) => [i, sha(i)]));
    expect(await chunkShas(done)).toEqual([]);
    const [linked] = await admin<{ chunk: string; sha256: string }[]>`
      select a.chunk_index as chunk, f.sha256 from video_frames f join audio_chunks a on a.id = f.audio_chunk_id
      join media_sessions m on m.id = f.media_session_id where m.session_id = ${s1}`;
    expect(linked).toEqual({ chunk: "3", sha256: sha(0) });
  });
}, 30_000);

test("a failing data statement leaves nothing behind and the connection keeps working", async () => {
  await withOneConnection(async (repo, sql, warnings) => {
    const s = crypto.randomUUID();
    await repo.openSession({ sessionId: s, storagePath: "p", ownerInstance: "gw-1" });
    await admin`update media_sessions set status = 'abandoned', last_activity = now() - interval '1 hour' where session_id = ${s}`;
    const before = await sessionRow(s);
    const backend = async () => (await sql<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]!.pid;
    const pid = await backend();
    // int64 max as it arrives from the wire (2^63 once a JS number): out of bigint range (22003).
    const tooLong = 2 ** 63;

    expect(answers(await repo.recordBlobs([audio(s, 0, sha(0), tooLong)]))).toEqual(["INVALID_MESSAGE"]);
    expect(await sessionRow(s)).toEqual(before!); // still abandoned, not touched
    expect(await chunkShas(s)).toEqual([]);

    // The batch fails, then each item alone: the good one is CREATED (its first attempt left no row).
    expect(answers(await repo.recordBlobs([audio(s, 1), audio(s, 2, sha(2), tooLong)]))).toEqual(["created", "INVALID_MESSAGE"]);
    expect(warnings).toEqual(["batch failed, retrying items one by one"]);
    expect(await chunkShas(s)).toEqual([[1, sha(1)]]);
    expect(await sessionRow(s)).toMatchObject({ status: "active", total_chunks: 1 });

    expect(answers(await repo.recordBlobs([audio(s, 3), audio(s, 1)]))).toEqual(["created", "identical"]);
    // Same connection, no transaction left open.
    expect(await backend()).toBe(pid);
    const [activity] = await admin<{ state: string }[]>`select state from pg_stat_activity where pid = ${pid}`;
    expect(activity?.state).toBe("idle");
  });
}, 30_000);

test("a session created while the batch waits for its locks gets no rows (its lock was not taken)", async () => {
  await withOneConnection(async (repo) => {
    const [s1, late] = [crypto.randomUUID(), crypto.randomUUID()];
    await repo.openSession({ sessionId: s1, storagePath: "p", ownerInstance: "gw-1" });
    const results = await whileLocked(
      s1,
      () => repo.recordBlobs([audio(s1, 0), audio(late, 0)]),
      // Committed after the lock statement began (it does not see it) and before the data statement.
      () => admin`insert into media_sessions (session_id, storage_path) values (${late}, 'p')`,
    );
    expect(answers(results)).toEqual(["created", "SESSION_NOT_FOUND"]);
    expect(await chunkShas(late)).toEqual([]);
    expect(await sessionRow(late)).toMatchObject({ total_chunks: 0 });
    expect(await sessionRow(s1)).toMatchObject({ total_chunks: 1 });
  });
}, 30_000);

test("a connection lost mid-batch answers UPSTREAM_UNAVAILABLE and the pool recovers", async () => {
  await withOneConnection(async (repo) => {
    const s = crypto.randomUUID();
    await repo.openSession({ sessionId: s, storagePath: "p", ownerInstance: "gw-1" });
    const results = await whileLocked(
      s,
      () => repo.recordBlobs([audio(s, 0), audio(s, 1)]),
      (pid) => admin`select pg_terminate_backend(${pid})`,
    );
    expect(answers(results)).toEqual(["UPSTREAM_UNAVAILABLE", "UPSTREAM_UNAVAILABLE"]);
    // The connection was not released into the pool dead: the pool reconnects. postgres.js 3.4.9
    // fails the first query of the new connection with the old one's 57P01 (and strands a
    // reserve() that gets it), hence a plain query first.
    await repo.ping().catch(() => false);
    expect(answers(await repo.recordBlobs([audio(s, 0)]))).toEqual(["created"]);
    expect(await sessionRow(s)).toMatchObject({ total_chunks: 1 });
  });
}, 30_000);

test("LookupBlobRows: a page of 1,000 keys in big tables is one statement of index probes, answered in order", async () => {
  const ids = (await admin<{ session_id: string }[]>`select session_id from media_sessions order by id limit 50`).map((r) => r.session_id);
  const keys = Array.from({ length: 1000 }, (_, i) => ({
    sessionId: i % 10 === 9 ? crypto.randomUUID() : ids[i % ids.length]!, // every tenth: no such session
    kind: (i % 2 === 0 ? "audio" : "frame") as "audio" | "frame",
    index: i % (ROWS_PER_SESSION + 5), // indexes past ROWS_PER_SESSION: no such row
  }));
  const before = await tableStats();
  let paths: (string | null)[] = [];
  await withRepo(async (repo) => {
    paths = await repo.lookupBlobRows(keys);
  });
  const after = await tableStats();
  for (const t of TABLES) expect(after.seqScans[t]! - before.seqScans[t]!, `${t} seq scans`).toBe(0);
  expect(paths.length).toBe(keys.length);
  for (const [i, k] of keys.entries()) {
    const exists = i % 10 !== 9 && k.index < ROWS_PER_SESSION;
    expect(paths[i], `key ${i}`).toBe(exists ? "p" : null);
  }
}, 60_000);

/** Every node of an EXPLAIN (FORMAT JSON) plan. */
type PlanNode = { "Node Type": string; "Relation Name"?: string; "Actual Rows"?: number; Plans?: PlanNode[] };
const planNodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(planNodes)];

test("a resumed session's stored ranges are read through indexes, from that session's rows only", async () => {
  // One of the generated sessions the tests above did not record into (they use the first three).
  const busy = (await admin<{ session_id: string }[]>`select session_id from media_sessions order by id offset 10 limit 1`)[0]!.session_id;
  const before = await tableStats();
  let stored: unknown;
  await withRepo(async (repo) => {
    stored = (await repo.openSession({ sessionId: busy, storagePath: "p", ownerInstance: "gw-1" })).stored;
  });
  expect(stored).toMatchObject({ chunks: [[0, ROWS_PER_SESSION - 1]], frames: [[0, ROWS_PER_SESSION - 1]], chunksTruncated: false, framesTruncated: false });
  expect((await tableStats()).seqScans).toEqual(before.seqScans);

  // A session of 3,000 single frames among the 2,000 others: its own rows are all that is read.
  const gappy = crypto.randomUUID();
  await admin`insert into media_sessions (session_id, storage_path) values (${gappy}, 'p')`;
  await admin`
    insert into video_frames (media_session_id, frame_index, chunk_index, file_path, file_size, mime_type, sha256)
    select m.id, 2 * i, 0, 'p', 1, 'image/jpeg', 'x' from media_sessions m, generate_series(0, 2999) i where m.session_id = ${gappy}`;
  const [row] = await admin.unsafe(`explain (analyze, format json) ${STORED_RANGES_SQL}`, [gappy, 1001]);
  const nodes = planNodes((row!["QUERY PLAN"] as [{ Plan: PlanNode }])[0].Plan);
  expect(nodes.map((n) => n["Node Type"])).not.toContain("Seq Scan");
  const reads = nodes.filter((n) => n["Relation Name"] === "video_frames" || n["Relation Name"] === "audio_chunks");
  expect(reads).toHaveLength(2);
  for (const n of reads) expect(n["Node Type"]).toMatch(/^(Index Scan|Index Only Scan|Bitmap Heap Scan)$/);
  expect(reads.find((n) => n["Relation Name"] === "video_frames")!["Actual Rows"]!).toBeLessThanOrEqual(3000);
  expect(reads.find((n) => n["Relation Name"] === "audio_chunks")!["Actual Rows"]!).toBe(0);
}, 30_000);
