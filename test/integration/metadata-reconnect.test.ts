/**
 * RecordBlobs after PostgreSQL drops the metadata service's connections (a restart, a failover,
 * pg_terminate_backend), wired as services/metadata/main.ts wires it: a pool for unary calls and
 * a pipeline connection of its own per lane (services/metadata/adapters/pg-pipeline.ts). Each
 * batch whose connection is killed answers UPSTREAM_UNAVAILABLE, the next one is recorded at
 * once, again and again, and no connection is left behind: with postgres.js' reserve() on the
 * shared pool, every kill leaked one connection (the next reserve() failed with the dead
 * connection's 57P01 and the connection went to that rejected reserve) until every batch waited
 * forever.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import postgres from "postgres";
import { DedicatedPipelines } from "../../services/metadata/adapters/pg-pipeline";
import { connectPostgres, PgSessionRepo, runMigrations } from "../../services/metadata/adapters/pg-repo";
import { Metadata } from "../../services/metadata/core/metadata";
import type { BlobItem, ItemResult } from "../../services/metadata/core/model";
import { createTestDatabase, type TestDatabase } from "../support/postgres";

let db: TestDatabase;
let admin: postgres.Sql;

beforeAll(async () => {
  db = await createTestDatabase("candid_reconnect");
  admin = postgres(db.url, { max: 1, onnotice: () => {} });
  await runMigrations(admin);
});

afterAll(async () => {
  await admin?.end({ timeout: 5 });
  await db?.drop();
});

const sha = (n: number) => n.toString(16).padStart(64, "0");
const audio = (sessionId: string, chunkIndex: number): BlobItem => ({
  kind: "audio",
  record: { sessionId, chunkIndex, filePath: `a/${chunkIndex}`, fileSize: 1, mimeType: "audio/webm", startTimestampMs: 0, endTimestampMs: 0, durationMs: 0, sha256Hex: sha(chunkIndex), ownerEpoch: 1 },
});
const answers = (rs: ItemResult[]) => rs.map((r) => ("outcome" in r ? r.outcome : r.error.code));

/** p, or "timeout" after ms (a stranded reserve() never settles). */
function within<T>(ms: number, p: Promise<T>): Promise<T | "timeout"> {
  return Promise.race([p, Bun.sleep(ms).then(() => "timeout" as const)]);
}

/** The repository as main.ts builds it against PostgreSQL (pool of `poolMax` in all, one lane). */
async function withService(fn: (repo: Metadata, pipelines: DedicatedPipelines, pool: postgres.Sql) => Promise<void>, poolMax = 2): Promise<void> {
  const pool = connectPostgres(db.url, poolMax - 1);
  const pipelines = new DedicatedPipelines((onclose) => connectPostgres(db.url, 1, { onclose, fetch_types: false }));
  try {
    await fn(new Metadata(new PgSessionRepo(pool, pipelines)), pipelines, pool);
  } finally {
    await pipelines.end(1);
    await pool.end({ timeout: 1 });
  }
}

async function backends(): Promise<number> {
  const [row] = await admin<{ n: number }[]>`
    select count(*)::int as n from pg_stat_activity where application_name = 'candid-metadata' and datname = current_database()`;
  return row!.n;
}

/** Polls until `fn` answers true, at most ms. */
async function eventually(ms: number, fn: () => Promise<boolean>): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await Bun.sleep(25);
  }
  return false;
}

test("a batch whose connection is killed mid-batch fails alone: the next one is recorded at once, ten times over", async () => {
  await withService(async (repo, pipelines) => {
    const s = crypto.randomUUID();
    await repo.openSession({ sessionId: s, storagePath: "p", ownerInstance: "gw-1" });
    for (let round = 0; round < 10; round++) {
      // The batch waits for the session's row lock (held here), so it is mid-batch when killed.
      const locker = postgres(db.url, { max: 1, onnotice: () => {} });
      try {
        await locker`begin`;
        await locker`select 1 from media_sessions where session_id = ${s} for update`;
        const batch = repo.recordBlobs([audio(s, round)]);
        let pid: number | undefined;
        await eventually(5_000, async () => {
          [{ pid } = { pid: undefined }] = await admin<{ pid: number }[]>`
            select pid from pg_stat_activity where application_name = 'candid-metadata' and wait_event_type = 'Lock'`;
          return pid !== undefined;
        });
        expect({ round, waiting: pid !== undefined }).toEqual({ round, waiting: true });
        await admin`select pg_terminate_backend(${pid!})`;
        expect(answers(await batch)).toEqual(["UPSTREAM_UNAVAILABLE"]);
      } finally {
        await locker.end({ timeout: 1 });
      }
      const next = await within(3_000, repo.recordBlobs([audio(s, round)]));
      expect({ round, next: next === "timeout" ? next : answers(next) }).toEqual({ round, next: ["created"] });
      expect(pipelines.open).toBe(1);
    }
    expect((await repo.getSessionStatus(s)).totalChunks).toBe(10);
    // The pool's one connection (the session opened above) and the lane's one: nothing leaked.
    expect(await eventually(2_000, async () => (await backends()) <= 2)).toBe(true);
  });
}, 60_000);

test("every connection killed between batches, and during a stream of batches: recording resumes within seconds", async () => {
  await withService(
    async (repo, pipelines) => {
      const sessions = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
      for (const s of sessions) await repo.openSession({ sessionId: s, storagePath: "p", ownerInstance: "gw-1" });
      // Between batches: the lane's idle connection is gone; the next batch opens a new one.
      await repo.recordBlobs([audio(sessions[0]!, 0)]);
      await admin`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'candid-metadata'`;
      expect(await eventually(2_000, async () => (await backends()) === 0)).toBe(true);
      await Bun.sleep(50); // their sockets' close reached this process
      const after = await within(3_000, repo.recordBlobs([audio(sessions[0]!, 1)]));
      expect(after === "timeout" ? after : answers(after)).toEqual(["created"]);

      // A stream of batches on three "lanes" at once while every backend is killed, 8 times.
      let stop = false;
      const next = new Map<string, number>(sessions.map((s, i) => [s, i === 0 ? 2 : 0]));
      const stream = async (s: string) => {
        while (!stop) {
          const i = next.get(s)!;
          const r = await within(10_000, repo.recordBlobs([audio(s, i)]));
          if (r === "timeout") throw new Error(`a batch of ${s} never settled`);
          // IDENTICAL: committed by an attempt whose answer was lost with its connection.
          if (answers(r)[0] === "created" || answers(r)[0] === "identical") next.set(s, i + 1);
          else await Bun.sleep(10);
        }
      };
      const streams = sessions.map(stream);
      for (let k = 0; k < 8; k++) {
        await Bun.sleep(50 + k * 13);
        await admin`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'candid-metadata'`;
      }
      // Then every stream records again within a few seconds.
      const marks = new Map(next);
      const resumed = await eventually(5_000, async () => sessions.every((s) => next.get(s)! >= marks.get(s)! + 3));
      stop = true;
      await Promise.all(streams);
      expect(resumed).toBe(true);
      for (const s of sessions) expect((await repo.getSessionStatus(s)).totalChunks).toBe(next.get(s)!);
      // At most the three streams' pipeline connections and the pool's (3 - 1 = 2 here).
      expect(pipelines.open).toBeLessThanOrEqual(3);
      expect(await eventually(2_000, async () => (await backends()) <= 5)).toBe(true);
    },
    3,
  );
}, 60_000);
