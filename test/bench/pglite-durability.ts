/**
 * Bench: what durability costs the embedded PGlite, and proof that its commits reach the disk.
 *
 *   bun test/bench/pglite-durability.ts [N=200] [ROUNDS=3]
 *
 * For each mode (PGLITE_FSYNC=false = PGlite's own defaults, then the durable default) a worker
 * process starts the embedded server exactly as the metadata service does (startPglite, postgres.js
 * with one connection) on a fresh data directory and runs N one-row transactions (begin, insert,
 * commit: the shape of a RecordBlobs batch of one item), ROUNDS times, timed without strace. Then
 * N more run with `strace -f -c -e trace=fsync,fdatasync,syncfs,pwrite64` attached to every thread
 * of the worker (after start-up, so initdb is not counted). Prints one line per mode and writes
 * docs/bench/pglite-durability.json. strace is optional (apt-get install strace); without it only
 * the timings are printed.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

const HERE = import.meta.path;

if (process.argv[2] === "--worker") await worker(process.argv[3] === "on", process.argv[4]!);
else await main();

/** Worker: start PGlite, then run commands read from stdin: `run N` -> prints `done ms syncs`. */
async function worker(durable: boolean, dataDir: string) {
  const postgres = (await import("postgres")).default;
  const { startPglite, PGLITE_POOL_MAX } = await import("../../services/metadata/adapters/pglite-server");
  const pg = await startPglite({ dataDir, port: 0, durable });
  const sql = postgres(pg.url, { max: PGLITE_POOL_MAX, onnotice: () => {} });
  await sql`create table bench (id bigserial primary key, session uuid not null, idx int not null, sha256 text not null)`;
  let k = 0;
  console.log(`ready ${process.pid} ${pg.durability.durable}`);
  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, arg] = line.split(" ");
    if (cmd === "run") {
      const n = Number(arg);
      const s0 = pg.syncs();
      const t0 = performance.now();
      for (let i = 0; i < n; i++, k++) {
        await sql.begin((tx) => tx`insert into bench (session, idx, sha256) values (${crypto.randomUUID()}, ${k}, ${"0".repeat(64)})`);
      }
      console.log(`done ${(performance.now() - t0).toFixed(1)} ${pg.syncs() - s0}`);
    } else if (cmd === "quit") break;
  }
  await sql.end();
  await pg.close();
  process.exit(0);
}

interface StraceCounts {
  fsync: number;
  fdatasync: number;
  syncfs: number;
  pwrite64: number;
}

function parseStrace(text: string): StraceCounts {
  const counts: StraceCounts = { fsync: 0, fdatasync: 0, syncfs: 0, pwrite64: 0 };
  for (const line of text.split("\n")) {
    const cols = line.trim().split(/\s+/);
    const name = cols.at(-1) as keyof StraceCounts;
    if (name in counts && cols.length >= 5) counts[name] = Number(cols[3]);
  }
  return counts;
}

async function main() {
  const [N = 200, ROUNDS = 3] = process.argv.slice(2).map(Number);
  const hasStrace = spawnSync("strace", ["-V"]).status === 0;
  const results: Record<string, unknown>[] = [];
  for (const durable of [false, true]) {
    const dir = mkdtempSync(join(tmpdir(), "candid-pglite-bench-"));
    const child = spawn(process.execPath, [HERE, "--worker", durable ? "on" : "off", join(dir, "db")], { stdio: ["pipe", "pipe", "inherit"] });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const next = async () => String((await lines.next()).value);
    const ready = (await next()).split(" ");
    const pid = Number(ready[1]);
    const run = async (n: number) => {
      child.stdin!.write(`run ${n}\n`);
      const [, ms, syncs] = (await next()).split(" ");
      return { ms: Number(ms), syncs: Number(syncs) };
    };
    await run(20); // warm-up: prepared statements, first WAL segment
    const rates: number[] = [];
    let fsyncsPerCommit = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const { ms, syncs } = await run(N);
      rates.push(Math.round((N * 1000) / ms));
      fsyncsPerCommit = syncs / N;
    }
    let strace: StraceCounts | undefined;
    if (hasStrace) {
      const out = join(dir, "strace.txt");
      const tids = readdirSync(`/proc/${pid}/task`).flatMap((t) => ["-p", t]);
      const tracer = spawn("strace", ["-f", "-c", "-e", "trace=fsync,fdatasync,syncfs,pwrite64", "-o", out, ...tids], { stdio: "ignore" });
      await Bun.sleep(1000); // attached
      await run(N);
      tracer.kill("SIGINT");
      await new Promise((r) => tracer.once("exit", r));
      strace = parseStrace(readFileSync(out, "utf8"));
    }
    child.stdin!.write("quit\n");
    await new Promise((r) => child.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
    const row = {
      mode: durable ? "durable (default)" : "PGLITE_FSYNC=false (PGlite defaults)",
      commits: N,
      rounds: ROUNDS,
      commitsPerSecond: rates,
      medianCommitsPerSecond: [...rates].sort((a, b) => a - b)[Math.floor(rates.length / 2)],
      fsyncsPerCommitSeenByDurableNodeFS: fsyncsPerCommit,
      straceOverNCommits: strace ?? null,
    };
    results.push(row);
    console.log(
      `${row.mode}: ${row.medianCommitsPerSecond} commits/s (rounds ${rates.join(", ")})` +
        (strace ? `; strace over ${N} commits: fsync ${strace.fsync}, fdatasync ${strace.fdatasync}, syncfs ${strace.syncfs}, pwrite64 ${strace.pwrite64}` : "; strace not installed"),
    );
  }
  const docs = resolve(import.meta.dir, "../../docs/bench");
  mkdirSync(docs, { recursive: true });
  const file = join(docs, "pglite-durability.json");
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), host: { cpus: navigator.hardwareConcurrency, tmpdir: tmpdir() }, results }, null, 2) + "\n");
  console.log(`wrote ${file}`);
}
