import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import postgres from "postgres";
import { PGlite } from "@electric-sql/pglite";
import { DURABLE_SETTINGS, PGLITE_POOL_MAX, pgliteStartParams, startPglite } from "./pglite-server";
import { DurableNodeFS } from "./pglite-durable-fs";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "candid-pglite-"));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function show(sql: postgres.Sql, name: string): Promise<string> {
  const rows = await sql.unsafe(`SHOW ${name}`);
  return String(Object.values(rows[0]!)[0]);
}

test("the embedded server is durable by default: settings over the wire, every commit fsyncs a WAL file on the host, and the data directory reopens so", async () => {
  const synced: string[] = [];
  const dataDir = join(tempDir(), "db");
  const pg = await startPglite({ dataDir, port: 0, onSync: (p) => synced.push(p) });
  const sql = postgres(pg.url, { max: PGLITE_POOL_MAX, onnotice: () => {} });
  try {
    expect(pg.durability.durable).toBe(true);
    for (const [name, value] of Object.entries(DURABLE_SETTINGS)) expect(await show(sql, name)).toBe(value);

    await sql`create table t (id int primary key)`;
    const before = synced.length;
    const commits = 5;
    for (let i = 0; i < commits; i++) await sql`insert into t values (${i})`;
    const walSyncs = synced.slice(before).filter((p) => p.includes(`${sep}pg_wal${sep}`));
    // one fsync(2) of the WAL segment per commit, made before the commit was answered
    expect(walSyncs.length).toBeGreaterThanOrEqual(commits);
    expect(pg.syncs()).toBe(synced.length);

    // a checkpoint fsyncs the data files too (they may be recycled from the WAL afterwards)
    const beforeCheckpoint = synced.length;
    await sql`checkpoint`;
    expect(synced.slice(beforeCheckpoint).some((p) => p.includes(`${sep}base${sep}`))).toBe(true);
  } finally {
    await sql.end();
    await pg.close();
  }

  const again = await startPglite({ dataDir, port: 0 });
  const sql2 = postgres(again.url, { max: PGLITE_POOL_MAX, onnotice: () => {} });
  try {
    expect(again.durability.durable).toBe(true);
    expect(await show(sql2, "fsync")).toBe("on");
    expect((await sql2`select count(*)::int as n from t`)[0]!.n).toBe(5);
  } finally {
    await sql2.end();
    await again.close();
  }
}, 90_000);

test("durable: false is PGlite's own mode (fsync off, no fsync reaches the host) and says so", async () => {
  const synced: string[] = [];
  const pg = await startPglite({ dataDir: join(tempDir(), "db"), port: 0, durable: false, onSync: (p) => synced.push(p) });
  const sql = postgres(pg.url, { max: PGLITE_POOL_MAX, onnotice: () => {} });
  try {
    expect(await show(sql, "fsync")).toBe("off");
    expect(pg.durability.durable).toBe(false);
    expect(pg.durability.statement).toContain("NOT durable");
    await sql`create table t (id int primary key)`;
    await sql`insert into t values (1)`;
    expect(synced).toEqual([]);
  } finally {
    await sql.end();
    await pg.close();
  }
}, 60_000);

test("the start parameters drop PGlite's -F and keep the rest of its defaults", () => {
  const durable = pgliteStartParams(true);
  expect(durable).not.toContain("-F");
  expect(durable).toContain("wal_sync_method=fsync");
  for (const p of PGlite.defaultStartParams.filter((p) => p !== "-F")) expect(durable).toContain(p);
  expect(pgliteStartParams(false)).toContain("-F");
});

test("DurableNodeFS: fsync reaches the host and a rename replaces its target in one step, the FS cache following", async () => {
  const dataDir = join(tempDir(), "db");
  const synced: string[] = [];
  const db = await PGlite.create({ dataDir, fs: new DurableNodeFS(dataDir, (p) => synced.push(p)), startParams: pgliteStartParams(true) });
  try {
    const FS = db.Module.FS;
    const root = PGlite.paths.PGDATA;
    FS.writeFile(`${root}/x.tmp`, "new");
    FS.writeFile(`${root}/x`, "old");
    expect(FS.readFile(`${root}/x`, { encoding: "utf8" })).toBe("old");
    FS.rename(`${root}/x.tmp`, `${root}/x`);
    expect(FS.readFile(`${root}/x`, { encoding: "utf8" })).toBe("new");
    expect(readFileSync(join(dataDir, "x"), "utf8")).toBe("new");
    expect(existsSync(join(dataDir, "x.tmp"))).toBe(false);
    FS.rename(`${root}/x`, `${root}/y`); // plain rename, no target
    expect(readFileSync(join(dataDir, "y"), "utf8")).toBe("new");

    const stream = FS.open(`${root}/y`, "r+");
    FS.write(stream, new TextEncoder().encode("NEW"), 0, 3, 0);
    const n = synced.length;
    // what postgres's fsync() reaches: Emscripten's fd_sync calls the stream's fsync
    (stream as unknown as { stream_ops: { fsync(s: unknown): number } }).stream_ops.fsync(stream);
    FS.close(stream);
    expect(synced.slice(n)).toEqual([join(dataDir, "y")]);
  } finally {
    await db.close();
  }
}, 60_000);
