/**
 * The metadata service as a separate process against its own fresh PostgreSQL database, over
 * real gRPC; plus one run of the embedded PGlite default.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import postgres from "postgres";
import { SessionStatus } from "../../proto/gen/media/v1/metadata";
import { MIGRATIONS_DIR } from "../../services/metadata/adapters/pg-repo";
import { parseMigrationFiles } from "../../services/metadata/core/migrations";
import { fromGrpcError } from "../../services/shared/grpc";

/** Every migration in services/metadata/migrations, by version. */
const ALL_MIGRATIONS = parseMigrationFiles(readdirSync(MIGRATIONS_DIR)).map((m) => m.version);
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { audio, call, errorCode, frame, type Item, openReq, outcomes, record, type Running, sha, startMetadata } from "../support/metadata-proc";

describe("metadata service on PostgreSQL", () => {
  let db: TestDatabase;
  let m: Running;
  let sql: postgres.Sql;

  beforeAll(async () => {
    db = await createTestDatabase("candid_meta");
    m = await startMetadata({ DATABASE_URL: db.url });
    sql = postgres(db.url, { max: 2, onnotice: () => {} });
  });

  afterAll(async () => {
    await sql?.end({ timeout: 5 });
    await m?.stop().catch(() => {});
    await db?.drop();
  });

  test("logs readiness without the database password", () => {
    const ready = m.svc.logs().find((l) => l.msg === "metadata listening");
    expect(ready).toMatchObject({ database: "postgres", metricsPort: m.metricsPort });
    expect(typeof ready?.grpcPort).toBe("number");
    expect(m.svc.output()).not.toContain(":postgres@");
  });

  test("open, resume, mismatch, unknown interview session, invalid id", async () => {
    const { interviewSessionId } = await call<{ interviewSessionId: number }>((cb) => m.client.createInterviewSession({ title: "Interview A" }, cb));
    expect(interviewSessionId).toBeGreaterThan(0);
    const sid = crypto.randomUUID();
    const first = await call<any>((cb) => m.client.openSession(openReq(sid, { interviewSessionId, hasInterviewSessionId: true, userId: 77, hasUserId: true }), cb));
    expect(first.resumed).toBe(false);
    expect(first.session).toMatchObject({
      sessionId: sid, status: SessionStatus.SESSION_STATUS_ACTIVE, totalChunks: 0, interviewSessionId, userId: 77, hasInterviewSessionId: true, hasUserId: true,
    });
    expect(first.session.startedAtMs).toBeGreaterThan(Date.now() - 60_000);

    const again = await call<any>((cb) => m.client.openSession(openReq(sid, { interviewSessionId, hasInterviewSessionId: true }), cb));
    expect(again.resumed).toBe(true);
    const noInterview = await call<any>((cb) => m.client.openSession(openReq(sid), cb));
    expect(noInterview.resumed).toBe(true);

    expect(await errorCode(call((cb) => m.client.openSession(openReq(sid, { interviewSessionId: interviewSessionId + 1000, hasInterviewSessionId: true }), cb)))).toBe("SESSION_MISMATCH");
    // another user never continues the session (the gateway names the token's user)
    expect(await errorCode(call((cb) => m.client.openSession(openReq(sid, { interviewSessionId, hasInterviewSessionId: true, userId: 78, hasUserId: true }), cb)))).toBe("SESSION_MISMATCH");
    expect(await errorCode(call((cb) => m.client.openSession(openReq(crypto.randomUUID(), { interviewSessionId: 99_999_999, hasInterviewSessionId: true }), cb)))).toBe(
      "INTERVIEW_SESSION_NOT_FOUND",
    );
    expect(await errorCode(call((cb) => m.client.openSession(openReq("not-a-uuid"), cb)))).toBe("INVALID_SESSION_ID");
    const counted = await sql<{ n: number }[]>`select count(*)::int as n from media_sessions where session_id = ${sid}`;
    expect(counted[0]!.n).toBe(1);
  });

  test("GetInterviewSession: found with its title, INTERVIEW_SESSION_NOT_FOUND otherwise; ownerless sessions say so", async () => {
    const before = Date.now() - 60_000;
    const { interviewSessionId } = await call<{ interviewSessionId: number }>((cb) => m.client.createInterviewSession({ title: "Interview B" }, cb));
    const got = await call<any>((cb) => m.client.getInterviewSession({ interviewSessionId }, cb));
    expect(got).toMatchObject({ interviewSessionId, title: "Interview B" });
    expect(got.createdAtMs).toBeGreaterThan(before);
    for (const id of [interviewSessionId + 1000, 0, -5]) {
      expect(await errorCode(call((cb) => m.client.getInterviewSession({ interviewSessionId: id }, cb)))).toBe("INTERVIEW_SESSION_NOT_FOUND");
    }
    const sid = crypto.randomUUID();
    await call((cb) => m.client.openSession(openReq(sid), cb));
    const status = await call<any>((cb) => m.client.getSessionStatus({ sessionId: sid }, cb));
    expect(status.session).toMatchObject({ interviewSessionId: 0, userId: 0, hasInterviewSessionId: false, hasUserId: false });
  });

  test("record: CREATED, IDENTICAL, CONFLICT with exact totals and no duplicate rows", async () => {
    const sid = crypto.randomUUID();
    await call((cb) => m.client.openSession(openReq(sid), cb));
    const r1 = await record(m.client, [audio(sid, 0), audio(sid, 1), audio(sid, 2), frame(sid, 0, 0), audio(sid, 2), audio(sid, 2, 999)]);
    expect(outcomes(r1)).toEqual(["CREATED", "CREATED", "CREATED", "CREATED", "IDENTICAL", "CONFLICT"]);
    const r2 = await record(m.client, [audio(sid, 0), audio(sid, 1, 555), frame(sid, 0, 0), frame(sid, 0, 0, 4242), audio(sid, 3)]);
    expect(outcomes(r2)).toEqual(["IDENTICAL", "CONFLICT", "IDENTICAL", "CONFLICT", "CREATED"]);

    const status = await call<any>((cb) => m.client.getSessionStatus({ sessionId: sid }, cb));
    expect(status.session).toMatchObject({ totalChunks: 4, totalFrames: 1 });
    const rows = await sql`
      select c.chunk_index::int as i, c.sha256 from audio_chunks c join media_sessions s on s.id = c.media_session_id
      where s.session_id = ${sid} order by c.chunk_index`;
    expect(rows.map((r) => r.i)).toEqual([0, 1, 2, 3]);
    expect(rows[1]!.sha256).toBe(sha(1)); // the conflicting re-send did not replace it
    const [f] = await sql`select count(*)::int as n, min(sha256) as sha from video_frames f join media_sessions s on s.id = f.media_session_id where s.session_id = ${sid}`;
    expect(f).toMatchObject({ n: 1, sha: sha(1000) });
  });

  test("OpenSession of an existing session answers its stored ranges: runs, gaps, single items, empty, this session's only", async () => {
    const sid = crypto.randomUUID();
    const fresh = await call<any>((cb) => m.client.openSession(openReq(sid), cb));
    expect(fresh).toMatchObject({ resumed: false });
    expect(fresh.stored).toBeUndefined(); // a new session: unset
    const empty = await call<any>((cb) => m.client.openSession(openReq(sid), cb));
    expect(empty).toMatchObject({ resumed: true, stored: { chunks: [], frames: [], chunksTruncated: false, framesTruncated: false } });

    const other = crypto.randomUUID();
    await call((cb) => m.client.openSession(openReq(other), cb));
    // sid was opened twice: its lease is at epoch 2.
    await record(m.client, [...[0, 1, 2, 4, 5, 6, 7, 8, 9].map((i) => audio(sid, i, i, 2)), frame(sid, 7, 1, 1007, 2), frame(sid, 3, 0, 1003, 2), frame(sid, 4, 0, 1004, 2), audio(other, 3), frame(other, 5, 0)]);
    const resumed = await call<any>((cb) => m.client.openSession(openReq(sid), cb));
    const pairs = (rs: { first: number; last: number }[]) => rs.map((r) => [r.first, r.last]);
    expect(resumed.resumed).toBe(true);
    expect(pairs(resumed.stored.chunks)).toEqual([[0, 2], [4, 9]]);
    expect(pairs(resumed.stored.frames)).toEqual([[3, 4], [7, 7]]);
    expect(resumed.stored).toMatchObject({ chunksTruncated: false, framesTruncated: false });
  });

  test("stored ranges are bounded: past 1,000 runs per kind, the lowest 1,000 and the kind's truncated flag", async () => {
    const sid = crypto.randomUUID();
    await call((cb) => m.client.openSession(openReq(sid), cb));
    // 1,200 single chunks (even indices) and exactly 1,000 runs of two frames: only the chunks are cut.
    await sql`
      insert into audio_chunks (media_session_id, chunk_index, file_path, file_size, mime_type, sha256)
      select m.id, 2 * i, 'p', 1, 'audio/webm', 'x' from media_sessions m, generate_series(0, 1199) i where m.session_id = ${sid}`;
    await sql`
      insert into video_frames (media_session_id, frame_index, chunk_index, file_path, file_size, mime_type, sha256)
      select m.id, 3 * (i / 2) + i % 2, 0, 'p', 1, 'image/jpeg', 'x' from media_sessions m, generate_series(0, 1999) i where m.session_id = ${sid}`;
    const r = await call<any>((cb) => m.client.openSession(openReq(sid), cb));
    expect(r.stored.chunks).toHaveLength(1000);
    expect(r.stored.chunks[0]).toEqual({ first: 0, last: 0 });
    expect(r.stored.chunks[999]).toEqual({ first: 1998, last: 1998 });
    expect(r.stored.frames).toHaveLength(1000);
    expect(r.stored.frames[999]).toEqual({ first: 2997, last: 2998 });
    expect(r.stored).toMatchObject({ chunksTruncated: true, framesTruncated: false });
  });

  test("per-item errors do not end the stream", async () => {
    const sid = crypto.randomUUID();
    await call((cb) => m.client.openSession(openReq(sid), cb));
    const bad = { ...audio(sid, 1) } as Item & { $case: "audio" };
    const r = await record(m.client, [
      audio(crypto.randomUUID(), 0),
      audio("NOT-A-UUID", 0),
      { $case: "audio", value: { ...bad.value, sha256Hex: "xyz" } },
      audio(sid, 0),
    ]);
    expect(outcomes(r)).toEqual(["SESSION_NOT_FOUND", "INVALID_SESSION_ID", "INVALID_MESSAGE", "CREATED"]);
    expect(r[0]!.error!.message.length).toBeGreaterThan(0);
  });

  test("frame <-> chunk linking in both orders", async () => {
    const sid = crypto.randomUUID();
    await call((cb) => m.client.openSession(openReq(sid), cb));
    // Frame first (its chunk 5 not there yet), then the chunk in a later transaction.
    expect(outcomes(await record(m.client, [frame(sid, 25, 5), frame(sid, 26, 5)]))).toEqual(["CREATED", "CREATED"]);
    const before = await sql`select audio_chunk_id from video_frames f join media_sessions s on s.id = f.media_session_id where s.session_id = ${sid}`;
    expect(before.every((r) => r.audio_chunk_id === null)).toBe(true);
    expect(outcomes(await record(m.client, [audio(sid, 5)]))).toEqual(["CREATED"]);
    // Chunk first, then its frame; and chunk + frame in the same batch.
    expect(outcomes(await record(m.client, [audio(sid, 6)]))).toEqual(["CREATED"]);
    expect(outcomes(await record(m.client, [frame(sid, 30, 6), audio(sid, 7), frame(sid, 35, 7)]))).toEqual(["CREATED", "CREATED", "CREATED"]);
    const rows = await sql`
      select f.frame_index::int as fi, c.chunk_index::int as ci
      from video_frames f join media_sessions s on s.id = f.media_session_id left join audio_chunks c on c.id = f.audio_chunk_id
      where s.session_id = ${sid} order by f.frame_index`;
    expect(rows.map((r) => [r.fi, r.ci])).toEqual([
      [25, 5],
      [26, 5],
      [30, 6],
      [35, 7],
    ]);
  });

  test("concurrent streams on one session: exact totals (group commit + row lock)", async () => {
    const sid = crypto.randomUUID();
    await call((cb) => m.client.openSession(openReq(sid), cb));
    // 4 streams each send the same 100 chunks + 100 frames: 1 CREATED per index, the rest IDENTICAL.
    const items = [...Array.from({ length: 100 }, (_, i) => audio(sid, i)), ...Array.from({ length: 100 }, (_, i) => frame(sid, i, Math.floor(i / 5)))];
    const all = await Promise.all([0, 1, 2, 3].map(() => record(m.client, items)));
    const flat = all.flatMap(outcomes);
    expect(flat.filter((o) => o === "CREATED").length).toBe(200);
    expect(flat.filter((o) => o === "IDENTICAL").length).toBe(600);
    const status = await call<any>((cb) => m.client.getSessionStatus({ sessionId: sid }, cb));
    expect(status.session).toMatchObject({ totalChunks: 100, totalFrames: 100 });
    const unlinkedRows = await sql<{ unlinked: number }[]>`
      select count(*)::int as unlinked from video_frames f join media_sessions s on s.id = f.media_session_id
      where s.session_id = ${sid} and f.audio_chunk_id is null`;
    expect(unlinkedRows[0]!.unlinked).toBe(0);
  });

  test("complete: missing indices, idempotent, then refuses media", async () => {
    const sid = crypto.randomUUID();
    await call((cb) => m.client.openSession(openReq(sid), cb));
    await record(m.client, [audio(sid, 0), audio(sid, 2), frame(sid, 0, 0), frame(sid, 3, 0), frame(sid, 9, 1)]);
    const done = await call<any>((cb) => m.client.completeSession({ sessionId: sid, totalChunks: 4, totalFrames: 5, ownerEpoch: 1 }, cb));
    expect(done.session).toMatchObject({ status: SessionStatus.SESSION_STATUS_COMPLETED, totalChunks: 2, totalFrames: 3 });
    expect(done.session.completedAtMs).toBeGreaterThan(0);
    expect(done.missingChunkIndices).toEqual([1, 3]);
    expect(done.missingFrameIndices).toEqual([1, 2, 4]);
    const again = await call<any>((cb) => m.client.completeSession({ sessionId: sid, totalChunks: 4, totalFrames: 5, ownerEpoch: 1 }, cb));
    expect(again.session.completedAtMs).toBe(done.session.completedAtMs);
    expect(again.missingChunkIndices).toEqual([1, 3]);

    expect(outcomes(await record(m.client, [audio(sid, 1), audio(sid, 0)]))).toEqual(["SESSION_COMPLETED", "SESSION_COMPLETED"]);
    expect(await errorCode(call((cb) => m.client.openSession(openReq(sid), cb)))).toBe("SESSION_COMPLETED");
    expect(await errorCode(call((cb) => m.client.completeSession({ sessionId: crypto.randomUUID(), totalChunks: 0, totalFrames: 0, ownerEpoch: 1 }, cb)))).toBe("SESSION_NOT_FOUND");
  });

  test("status of an unknown session is SESSION_NOT_FOUND (gRPC NOT_FOUND)", async () => {
    const err = await new Promise<grpc.ServiceError>((resolve) => m.client.getSessionStatus({ sessionId: crypto.randomUUID() }, (e) => resolve(e!)));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(fromGrpcError(err).code).toBe("SESSION_NOT_FOUND");
  });

  test("abandon idle sessions, then a reconnect or a blob revives them", async () => {
    const idle1 = crypto.randomUUID();
    const idle2 = crypto.randomUUID();
    const busy = crypto.randomUUID();
    const quiet = crypto.randomUUID();
    for (const s of [idle1, idle2, busy]) await call((cb) => m.client.openSession(openReq(s), cb));
    // Their gateway went away (its heartbeat is old); `quiet` is held by a live one.
    await sql`update gateway_instances set heartbeat_at = now() - interval '1 hour' where instance_id = 'gw-1'`;
    await call((cb) => m.client.openSession(openReq(quiet, { ownerInstance: "gw-live" }), cb));
    await sql`update media_sessions set last_activity = now() - interval '2 hours' where session_id in ${sql([idle1, idle2, quiet])}`;
    const res = await call<any>((cb) => m.client.abandonIdleSessions({ idleMs: 3_600_000, limit: 0 }, cb));
    expect([...res.sessionIds].sort()).toEqual([idle1, idle2].sort());
    const st = await call<any>((cb) => m.client.getSessionStatus({ sessionId: idle1 }, cb));
    expect(st.session.status).toBe(SessionStatus.SESSION_STATUS_ABANDONED);
    expect((await call<any>((cb) => m.client.getSessionStatus({ sessionId: busy }, cb))).session.status).toBe(SessionStatus.SESSION_STATUS_ACTIVE);
    // A candidate quiet for two hours while connected is not abandoned.
    expect((await call<any>((cb) => m.client.getSessionStatus({ sessionId: quiet }, cb))).session).toMatchObject({ status: SessionStatus.SESSION_STATUS_ACTIVE, isConnected: true });

    const reopened = await call<any>((cb) => m.client.openSession(openReq(idle1), cb));
    expect(reopened).toMatchObject({ resumed: true, session: { status: SessionStatus.SESSION_STATUS_ACTIVE } });
    expect(outcomes(await record(m.client, [audio(idle2, 0)]))).toEqual(["CREATED"]);
    expect((await call<any>((cb) => m.client.getSessionStatus({ sessionId: idle2 }, cb))).session.status).toBe(SessionStatus.SESSION_STATUS_ACTIVE);
    // Nothing idle left for that threshold.
    expect((await call<any>((cb) => m.client.abandonIdleSessions({ idleMs: 3_600_000, limit: 10 }, cb))).sessionIds).toEqual([]);
  });

  test("leases: each OpenSession takes over under a new epoch, the old epoch is fenced, renew/release, is_connected from the heartbeat", async () => {
    const sid = crypto.randomUUID();
    const a = await call<any>((cb) => m.client.openSession(openReq(sid, { ownerInstance: "gw-a" }), cb));
    expect(a.ownerEpoch).toBe(1);
    expect(a.session).toMatchObject({ isConnected: true, ownerEpoch: 1 });
    expect(outcomes(await record(m.client, [audio(sid, 0, 0, 1)]))).toEqual(["CREATED"]);
    const b = await call<any>((cb) => m.client.openSession(openReq(sid, { ownerInstance: "gw-b" }), cb));
    expect(b.ownerEpoch).toBe(2);
    // gw-a's writes are refused and change nothing; gw-b's go in.
    expect(outcomes(await record(m.client, [audio(sid, 1, 1, 1), frame(sid, 0, 0, 1000, 1)]))).toEqual(["SESSION_TAKEN_OVER", "SESSION_TAKEN_OVER"]);
    expect(outcomes(await record(m.client, [audio(sid, 1, 77, 1), audio(sid, 1, 1, 2)]))).toEqual(["SESSION_TAKEN_OVER", "CREATED"]);
    const [counts] = await sql`select total_chunks, total_frames, owner_epoch::int as epoch, owner_instance from media_sessions where session_id = ${sid}`;
    expect(counts).toMatchObject({ total_chunks: 2, total_frames: 0, epoch: 2, owner_instance: "gw-b" });
    const [row] = await sql`select a.sha256 from audio_chunks a join media_sessions s on s.id = a.media_session_id where s.session_id = ${sid} and a.chunk_index = 1`;
    expect(row!.sha256).toBe(sha(1));
    expect(await errorCode(call((cb) => m.client.completeSession({ sessionId: sid, totalChunks: 2, totalFrames: 0, ownerEpoch: 1 }, cb)))).toBe("SESSION_TAKEN_OVER");

    // Renewals: gw-a learns it lost the session; gw-b holds it.
    const unknown = crypto.randomUUID();
    const lostA = await call<any>((cb) => m.client.renewLeases({ ownerInstance: "gw-a", leases: [{ sessionId: sid, ownerEpoch: 1 }, { sessionId: unknown, ownerEpoch: 1 }] }, cb));
    expect([...lostA.lostSessionIds].sort()).toEqual([sid, unknown].sort());
    expect((await call<any>((cb) => m.client.renewLeases({ ownerInstance: "gw-b", leases: [{ sessionId: sid, ownerEpoch: 2 }] }, cb))).lostSessionIds).toEqual([]);

    // is_connected follows gw-b's heartbeat (METADATA_LEASE_TTL_MS, 3 s by default)...
    await sql`update gateway_instances set heartbeat_at = now() - interval '4 seconds' where instance_id = 'gw-b'`;
    expect((await call<any>((cb) => m.client.getSessionStatus({ sessionId: sid }, cb))).session.isConnected).toBe(false);
    await call((cb) => m.client.renewLeases({ ownerInstance: "gw-b", leases: [] }, cb));
    expect((await call<any>((cb) => m.client.getSessionStatus({ sessionId: sid }, cb))).session.isConnected).toBe(true);
    // ...and ends at once with a release by the holder (a stale one changes nothing).
    expect((await call<any>((cb) => m.client.releaseSession({ sessionId: sid, ownerEpoch: 1, ownerInstance: "gw-a" }, cb))).released).toBe(false);
    expect((await call<any>((cb) => m.client.releaseSession({ sessionId: sid, ownerEpoch: 2, ownerInstance: "gw-b" }, cb))).released).toBe(true);
    expect((await call<any>((cb) => m.client.getSessionStatus({ sessionId: sid }, cb))).session).toMatchObject({ isConnected: false, ownerEpoch: 2 });
    expect(await errorCode(call((cb) => m.client.renewLeases({ ownerInstance: "", leases: [] }, cb)))).toBe("INVALID_MESSAGE");
  });

  test("metrics are exported", async () => {
    const text = await (await fetch(`http://127.0.0.1:${m.metricsPort}/metrics`)).text();
    expect(text).toContain('candid_metadata_records_total{kind="audio",outcome="created"');
    expect(text).toContain("candid_metadata_batch_size_bucket");
    expect(text).toContain("candid_metadata_commit_duration_seconds_bucket");
    expect(text).toContain('candid_metadata_errors_total{code="SESSION_NOT_FOUND"');
  });

  test("restart on the same database: migrations run again as a no-op, data kept", async () => {
    const sid = crypto.randomUUID();
    await call((cb) => m.client.openSession(openReq(sid), cb));
    await m.stop();
    m = await startMetadata({ DATABASE_URL: db.url });
    expect(m.svc.logs().find((l) => l.msg === "migrations done")?.applied).toEqual([]);
    const migrations = await sql`select version from schema_migrations`;
    expect(migrations.map((r) => r.version)).toEqual(ALL_MIGRATIONS);
    const st = await call<any>((cb) => m.client.getSessionStatus({ sessionId: sid }, cb));
    expect(st.session.sessionId).toBe(sid);
  });

  test("two processes migrating one fresh database at once", async () => {
    const fresh = await createTestDatabase("candid_meta2");
    try {
      const [a, b] = await Promise.all([startMetadata({ DATABASE_URL: fresh.url }), startMetadata({ DATABASE_URL: fresh.url })]);
      const applied = [a, b].map((p) => p.svc.logs().find((l) => l.msg === "migrations done")?.applied as number[]);
      expect(applied.flat()).toEqual(ALL_MIGRATIONS);
      const sid = crypto.randomUUID();
      await call((cb) => a.client.openSession(openReq(sid), cb));
      expect((await call<any>((cb) => b.client.getSessionStatus({ sessionId: sid }, cb))).session.sessionId).toBe(sid);
      await Promise.all([a.stop(), b.stop()]);
    } finally {
      await fresh.drop();
    }
  });
});

describe("metadata service on the embedded PGlite (no DATABASE_URL)", () => {
  let dir: string;
  let m: Running | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "candid-pglite-"));
  });
  afterAll(async () => {
    await m?.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  });

  test(
    "open + record + status",
    async () => {
      m = await startMetadata({ DATABASE_URL: "", PGLITE_DATA_DIR: dir, PGLITE_PORT: "0" }, 90_000);
      expect(m.svc.logs().find((l) => l.msg === "metadata listening")?.database).toBe("pglite");
      const sid = crypto.randomUUID();
      const opened = await call<any>((cb) => m!.client.openSession(openReq(sid), cb));
      expect(opened.resumed).toBe(false);
      const r = await record(m.client, [audio(sid, 0), audio(sid, 1), frame(sid, 0, 1), audio(sid, 0), audio(sid, 1, 77)]);
      expect(outcomes(r)).toEqual(["CREATED", "CREATED", "CREATED", "IDENTICAL", "CONFLICT"]);
      const st = await call<any>((cb) => m!.client.getSessionStatus({ sessionId: sid }, cb));
      expect(st.session).toMatchObject({ totalChunks: 2, totalFrames: 1, status: SessionStatus.SESSION_STATUS_ACTIVE });
      // The stored ranges' SQL (window functions) on PGlite too.
      const again = await call<any>((cb) => m!.client.openSession(openReq(sid), cb));
      expect(again.stored).toEqual({ chunks: [{ first: 0, last: 1 }], frames: [{ first: 0, last: 0 }], chunksTruncated: false, framesTruncated: false });
    },
    150_000,
  );
});
