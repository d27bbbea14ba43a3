/**
 * @module floor
 * The in-process floor of the comparison bench (test/bench/compare.ts, issue 13): what storing a
 * blob durably and recording it costs with no hops at all. One process, `concurrency` closed-loop
 * workers; per blob: SHA-256, a new temp file (create-only), write, fsync, rename into place,
 * fsync of the directory, then one INSERT (its own transaction, committed) into PostgreSQL; the
 * blob counts as acked when the INSERT returns. Warm-up first, then the measured window; prints
 * one JSON line: acked blobs, elapsed, latencies' p50/p99, this process's CPU (user, kernel)
 * over the measured window, that of the database's PostgreSQL processes (procfs.ts
 * postgresCpuByPid, read before the pool closes and its backends exit) and the machine's busy time.
 *
 *   bun test/bench/support/floor.ts '{"concurrency":16,"warmup":4,"seconds":12,"size":51200,"dir":"/tmp/x","db":"postgres://…","dbName":"…"}'
 */
import { randomBytes } from "node:crypto";
import { open, rename } from "node:fs/promises";
import { join } from "node:path";
import postgres from "postgres";
import { percentile } from "./driver";
import { cpuTimes, machineBusySeconds, postgresCpuByPid } from "./procfs";

const opts = JSON.parse(process.argv[2]!) as { concurrency: number; warmup: number; seconds: number; size: number; dir: string; db: string; dbName: string };
const sql = postgres(opts.db, { max: Math.min(opts.concurrency, 16), onnotice: () => {} });
await sql`create table if not exists blobs (session_id uuid not null, idx integer not null, sha256 bytea not null, size integer not null, path text not null, primary key (session_id, idx))`;
const blobs = Array.from({ length: 4 }, () => randomBytes(opts.size));

let measuring = false;
let acked = 0;
const latencies: number[] = [];

async function storeOne(sessionId: string, idx: number): Promise<void> {
  const buf = blobs[idx % 4]!;
  const sha = new Bun.CryptoHasher("sha256").update(buf).digest();
  const name = `${sessionId}-${idx}`;
  const tmp = join(opts.dir, `.tmp-${name}`);
  const path = join(opts.dir, name);
  const fh = await open(tmp, "wx");
  try {
    await fh.write(buf);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dh = await open(opts.dir, "r");
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
  await sql`insert into blobs (session_id, idx, sha256, size, path) values (${sessionId}, ${idx}, ${sha}, ${buf.length}, ${name})`;
}

async function worker(deadline: () => number): Promise<void> {
  const sessionId = crypto.randomUUID();
  for (let idx = 0; performance.now() < deadline(); idx++) {
    const t = performance.now();
    await storeOne(sessionId, idx);
    if (measuring) {
      latencies.push(performance.now() - t);
      acked++;
    }
  }
}

const start = performance.now();
let end = start + (opts.warmup + opts.seconds) * 1000;
const workers = Array.from({ length: opts.concurrency }, () => worker(() => end));
await Bun.sleep(opts.warmup * 1000);
measuring = true;
const cpu0 = cpuTimes(process.pid);
const pg0 = postgresCpuByPid(opts.dbName);
const m0 = machineBusySeconds();
const t0 = performance.now();
end = t0 + opts.seconds * 1000;
await Promise.all(workers);
const elapsed = (performance.now() - t0) / 1000;
const cpu1 = cpuTimes(process.pid);
const m1 = machineBusySeconds();
// Before the pool ends: its backends' CPU goes with them.
const pg = { user: 0, system: 0 };
for (const [pid, c] of postgresCpuByPid(opts.dbName)) {
  const b = pg0.get(pid) ?? { user: 0, system: 0 };
  pg.user += c.user - b.user;
  pg.system += c.system - b.system;
}
latencies.sort((a, b) => a - b);
await sql.end({ timeout: 5 });
console.log(
  JSON.stringify({
    acked,
    elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpu: { user: cpu1.user - cpu0.user, system: cpu1.system - cpu0.system },
    postgres: pg,
    machineBusy: m1 - m0,
  }),
);
process.exit(0);
