/**
 * Benchmark (issue 13): Candid's full stack against the in-process floor and a durable tus
 * server, interleaved in one run (A, B, C, A, B, C …) so that the machine's drift and other
 * people's load hit every variant alike.
 *
 *   (candid) gateway + storage (fs, fsync) + metadata (PostgreSQL), separate processes, real
 *            gRPC, driven as ack-throughput.ts does (16 sessions, in-flight / 16 blobs each);
 *   (floor)  one process: SHA-256, temp file + write + fsync + rename + directory fsync + one
 *            INSERT per blob, N closed-loop workers (test/bench/support/floor.ts);
 *   (tus)    @tus/server + @tus/file-store on Bun, an fsync per finished upload
 *            (test/bench/support/tus-server.ts), one creation-with-upload POST per blob, N in flight.
 *
 * Every run of every variant is closed loop, `--warmup` s then `--seconds` s measured, on its own
 * fresh database and folder (kept until the end of the whole run, then removed: deleting files
 * slows the next file creations on this machine, docs/benchmarks.md). Per run: acked blobs/s,
 * p50/p99 ack latency (sending the blob to its ack), CPU ms per blob of every process of the
 * variant (user and kernel, /proc/PID/stat; PostgreSQL: the run's backends and the server's own
 * processes) with the driver reported apart, and the CPU that other processes used meanwhile
 * (`otherCores`: the machine's busy time minus the variant's and the driver's; a run with more
 * than 0.15 cores of it is marked disturbed). Prints medians and min–max per variant and load,
 * the ratios Candid/floor and Candid/tus, whether issue 13's targets are met, and writes it all
 * to docs/bench/compare.json.
 *
 *   source test/system-deps.sh && npm run bench:compare -- [--reps 3] [--in-flight 16,64]
 *     [--warmup 4] [--seconds 12] [--size 51200] [--sessions 16] [--only candid,floor,tus]
 *     [--unix] [--candid-variant 'label=ROOT[;KEY=VALUE…][;unix]']… [--media-parent DIR] [--out FILE]
 * `--candid-variant` adds a Candid stack started from another checkout (ROOT, e.g. a worktree of
 * the commit before a change, with node_modules linked), with extra environment for every
 * service and/or (`unix`) gRPC over Unix domain sockets: the paired before/after of
 * docs/benchmarks.md, interleaved with the others. `--unix` does the latter for "candid" itself.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { createTestDatabase } from "../support/postgres";
import { pump, REPO_ROOT } from "../support/procs";
import { startStack } from "../support/stack";
import { benchLimits, percentile, requireFreeDisk, sessionDriver } from "./support/driver";
import { cpuTimes, machineBusySeconds, postgresCpuByPid } from "./support/procfs";

const { values } = parseArgs({
  options: {
    reps: { type: "string", default: "3" },
    "in-flight": { type: "string", default: "16,64" },
    warmup: { type: "string", default: "4" },
    seconds: { type: "string", default: "12" },
    size: { type: "string", default: "51200" },
    sessions: { type: "string", default: "16" },
    only: { type: "string" },
    unix: { type: "boolean", default: false },
    "candid-variant": { type: "string", multiple: true, default: [] },
    "media-parent": { type: "string" },
    out: { type: "string", default: join(REPO_ROOT, "docs/bench/compare.json") },
  },
});
const reps = Number(values.reps);
const loads = values["in-flight"]!.split(",").map(Number);
const warmup = Number(values.warmup);
const seconds = Number(values.seconds);
const size = Number(values.size);
const sessions = Number(values.sessions);
const DISTURBED_CORES = 0.15;

interface CandidVariant {
  kind: "candid";
  label: string;
  root: string;
  env: Record<string, string>;
  /** gRPC over Unix domain sockets (stack.ts `unixSockets`). */
  unix: boolean;
}
type Variant = CandidVariant | { kind: "floor"; label: "floor" } | { kind: "tus"; label: "tus" };
const allVariants: Variant[] = [
  { kind: "candid", label: "candid", root: REPO_ROOT, env: {}, unix: values.unix! },
  ...values["candid-variant"]!.map((spec): Variant => {
    const [head, ...envs] = spec.split(";");
    const [label, root] = head!.split("=");
    if (!label || !root) throw new Error(`--candid-variant ${spec}: label=ROOT[;KEY=VALUE…]`);
    return {
      kind: "candid",
      label,
      root: resolve(root),
      env: Object.fromEntries(envs.filter((e) => e !== "unix").map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)])),
      unix: envs.includes("unix"),
    };
  }),
  { kind: "floor", label: "floor" },
  { kind: "tus", label: "tus" },
];
const variants = allVariants.filter((v) => !values.only || values.only.split(",").includes(v.label));

interface Cpu {
  user: number;
  system: number;
}
/** One measured run of one variant at one load. */
interface Run {
  variant: string;
  inFlight: number;
  rep: number;
  ackedBlobs: number;
  errors: number;
  seconds: number;
  blobsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU ms per acked blob, per process of the variant, user and kernel apart. */
  cpuMsPerBlob: Record<string, { user: number; system: number; total: number }>;
  /** All of the variant's processes together (driver excluded). */
  cpuMsPerBlobTotal: number;
  /** The driver (this process, or none for the floor, which drives itself). */
  driverCpuMsPerBlob: number | null;
  /** Cores other processes of the machine used meanwhile. */
  otherCores: number;
  disturbed: boolean;
}

const diff = (a: Cpu, b: Cpu): Cpu => ({ user: b.user - a.user, system: b.system - a.system });
/** Postgres CPU between two snapshots, by pid (a backend that appeared meanwhile counts from 0). */
function pgDelta(before: Map<number, Cpu>, after: Map<number, Cpu>): Cpu {
  const d = { user: 0, system: 0 };
  for (const [pid, c] of after) {
    const b = before.get(pid) ?? { user: 0, system: 0 };
    d.user += c.user - b.user;
    d.system += c.system - b.system;
  }
  return d;
}
const r3 = (x: number) => Number(x.toFixed(3));

function finish(
  v: string,
  inFlight: number,
  rep: number,
  m: { acked: number; errors: number; elapsed: number; p50: number; p99: number; procs: Record<string, Cpu>; driver: Cpu | null; machine: number },
): Run {
  const per = (c: Cpu) => ({ user: r3((c.user * 1000) / Math.max(1, m.acked)), system: r3((c.system * 1000) / Math.max(1, m.acked)), total: r3(((c.user + c.system) * 1000) / Math.max(1, m.acked)) });
  const cpuMsPerBlob = Object.fromEntries(Object.entries(m.procs).map(([k, c]) => [k, per(c)]));
  const ours = Object.values(m.procs).reduce((s, c) => s + c.user + c.system, 0) + (m.driver ? m.driver.user + m.driver.system : 0);
  const otherCores = Number(Math.max(0, (m.machine - ours) / m.elapsed).toFixed(2));
  return {
    variant: v,
    inFlight,
    rep,
    ackedBlobs: m.acked,
    errors: m.errors,
    seconds: Number(m.elapsed.toFixed(2)),
    blobsPerSecond: Math.round(m.acked / m.elapsed),
    p50Ms: Number(m.p50.toFixed(1)),
    p99Ms: Number(m.p99.toFixed(1)),
    cpuMsPerBlob,
    cpuMsPerBlobTotal: r3(Object.values(cpuMsPerBlob).reduce((s, c) => s + c.total, 0)),
    driverCpuMsPerBlob: m.driver ? per(m.driver).total : null,
    otherCores,
    disturbed: otherCores > DISTURBED_CORES,
  };
}

const parent = mkdtempSync(join(values["media-parent"] ?? tmpdir(), "candid-compare-"));
const cleanup = () => rmSync(parent, { recursive: true, force: true });
process.on("SIGINT", () => {
  cleanup();
  process.exit(130);
});

async function runCandid(v: CandidVariant, inFlight: number, rep: number): Promise<Run> {
  const window = Math.max(1, Math.round(inFlight / sessions));
  const stack = await startStack({
    root: v.root,
    unixSockets: v.unix,
    gatewayEnv: { GATEWAY_MAX_PENDING: String(Math.max(64, window * 4)), ...benchLimits(sessions), ...v.env },
    storageEnv: v.env,
    metadataEnv: v.env,
    mediaParent: parent,
    keepMedia: true,
  });
  try {
    const interviewId = await stack.api.createInterview(`compare ${v.label}`);
    const driver = sessionDriver({ stack, interviewId, pace: "closed", window, size });
    await driver.runAll(sessions, performance.now() + warmup * 1000);
    const db = postgres(stack.db.url, { max: 1, onnotice: () => {} });
    await db`analyze`;
    await db.end({ timeout: 5 });
    const stats = driver.stats;
    stats.latencies.length = 0;
    stats.acked = 0;
    stats.errors = 0;
    const pids = { gateway: stack.gateway.proc.pid, storage: stack.storage.proc.pid, metadata: stack.metadata.proc.pid };
    const c0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuTimes(pid)]));
    const d0 = cpuTimes(process.pid);
    const pg0 = postgresCpuByPid(stack.db.name);
    const m0 = machineBusySeconds();
    const t0 = performance.now();
    await driver.runAll(sessions, t0 + seconds * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const m1 = machineBusySeconds();
    const procs: Record<string, Cpu> = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, diff(c0[k]!, cpuTimes(pid))]));
    procs.postgres = pgDelta(pg0, postgresCpuByPid(stack.db.name));
    const driverCpu = diff(d0, cpuTimes(process.pid));
    stats.latencies.sort((a, b) => a - b);
    return finish(v.label, inFlight, rep, {
      acked: stats.acked,
      errors: stats.errors,
      elapsed,
      p50: percentile(stats.latencies, 50),
      p99: percentile(stats.latencies, 99),
      procs,
      driver: driverCpu,
      machine: m1 - m0,
    });
  } finally {
    await stack.stop();
  }
}

async function runFloor(inFlight: number, rep: number): Promise<Run> {
  const db = await createTestDatabase("candid_floor");
  const dir = mkdtempSync(join(parent, "floor-"));
  try {
    const proc = Bun.spawn(
      [process.execPath, join(import.meta.dir, "support/floor.ts"), JSON.stringify({ concurrency: inFlight, warmup, seconds, size, dir, db: db.url, dbName: db.name })],
      { cwd: REPO_ROOT, stdout: "pipe", stderr: "pipe" },
    );
    const out: string[] = [];
    const err: string[] = [];
    await Promise.all([pump(proc.stdout as ReadableStream<Uint8Array>, out), pump(proc.stderr as ReadableStream<Uint8Array>, err)]);
    const code = await proc.exited;
    if (code !== 0) throw new Error(`floor exited with ${code}: ${err.join("")}`);
    // The floor times its own measured window and reads its PostgreSQL processes' CPU itself.
    const r = JSON.parse(out.join("").trim().split("\n").at(-1)!);
    return finish("floor", inFlight, rep, { acked: r.acked, errors: 0, elapsed: r.elapsed, p50: r.p50, p99: r.p99, procs: { floor: r.cpu, postgres: r.postgres }, driver: null, machine: r.machineBusy });
  } finally {
    await db.drop();
  }
}

async function runTus(inFlight: number, rep: number): Promise<Run> {
  const dir = mkdtempSync(join(parent, "tus-"));
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "support/tus-server.ts"), dir], { cwd: REPO_ROOT, stdout: "pipe", stderr: "inherit" });
  try {
    const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
    let line = "";
    while (!line.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("tus server exited before listening");
      line += new TextDecoder().decode(value);
    }
    const port = Number(/listening (\d+)/.exec(line)![1]);
    const url = `http://127.0.0.1:${port}/files`;
    const blobs = Array.from({ length: 4 }, (_, i) => new Uint8Array(size).fill(i + 1));
    let measuring = false;
    let acked = 0;
    let errors = 0;
    const latencies: number[] = [];
    const worker = async (deadline: () => number) => {
      for (let i = 0; performance.now() < deadline(); i++) {
        const t = performance.now();
        const res = await fetch(url, {
          method: "POST",
          headers: { "Tus-Resumable": "1.0.0", "Upload-Length": String(size), "Content-Type": "application/offset+octet-stream" },
          body: blobs[i % 4],
        });
        await res.arrayBuffer();
        const ok = res.status === 201 && res.headers.get("upload-offset") === String(size);
        if (!measuring) continue;
        if (!ok) errors++;
        else {
          latencies.push(performance.now() - t);
          acked++;
        }
      }
    };
    let end = performance.now() + (warmup + seconds) * 1000;
    const workers = Array.from({ length: inFlight }, () => worker(() => end));
    await Bun.sleep(warmup * 1000);
    measuring = true;
    const c0 = cpuTimes(proc.pid);
    const d0 = cpuTimes(process.pid);
    const m0 = machineBusySeconds();
    const t0 = performance.now();
    end = t0 + seconds * 1000;
    await Promise.all(workers);
    const elapsed = (performance.now() - t0) / 1000;
    const m1 = machineBusySeconds();
    const tus = diff(c0, cpuTimes(proc.pid));
    const driverCpu = diff(d0, cpuTimes(process.pid));
    latencies.sort((a, b) => a - b);
    return finish("tus", inFlight, rep, { acked, errors, elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), procs: { tus }, driver: driverCpu, machine: m1 - m0 });
  } finally {
    proc.kill();
    await proc.exited;
  }
}

requireFreeDisk(parent, 30, "compare");
const runs: Run[] = [];
try {
  for (let rep = 1; rep <= reps; rep++)
    for (const inFlight of loads)
      for (const v of variants) {
        const r = v.kind === "candid" ? await runCandid(v, inFlight, rep) : v.kind === "floor" ? await runFloor(inFlight, rep) : await runTus(inFlight, rep);
        runs.push(r);
        console.log(
          `rep ${rep} ${v.label.padEnd(8)} ${String(inFlight).padStart(3)} in flight: ${r.blobsPerSecond} blobs/s, p50 ${r.p50Ms} p99 ${r.p99Ms} ms, ` +
            `CPU ${r.cpuMsPerBlobTotal} ms/blob (${Object.entries(r.cpuMsPerBlob).map(([k, c]) => `${k} ${c.user}u+${c.system}k`).join(", ")}; driver ${r.driverCpuMsPerBlob ?? "-"}), ` +
            `errors ${r.errors}, others ${r.otherCores} cores${r.disturbed ? " DISTURBED" : ""}`,
        );
      }
} finally {
  cleanup();
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const summary = variants.flatMap((v) =>
  loads.map((inFlight) => {
    const rs = runs.filter((r) => r.variant === v.label && r.inFlight === inFlight);
    const procs = Object.keys(rs[0]!.cpuMsPerBlob);
    return {
      variant: v.label,
      inFlight,
      blobsPerSecond: { median: median(rs.map((r) => r.blobsPerSecond)), min: Math.min(...rs.map((r) => r.blobsPerSecond)), max: Math.max(...rs.map((r) => r.blobsPerSecond)) },
      p50Ms: median(rs.map((r) => r.p50Ms)),
      p99Ms: median(rs.map((r) => r.p99Ms)),
      cpuMsPerBlob: Object.fromEntries(
        procs.map((p) => [p, { user: r3(median(rs.map((r) => r.cpuMsPerBlob[p]!.user))), system: r3(median(rs.map((r) => r.cpuMsPerBlob[p]!.system))), total: r3(median(rs.map((r) => r.cpuMsPerBlob[p]!.total))) }]),
      ),
      cpuMsPerBlobTotal: r3(median(rs.map((r) => r.cpuMsPerBlobTotal))),
      driverCpuMsPerBlob: rs[0]!.driverCpuMsPerBlob === null ? null : r3(median(rs.map((r) => r.driverCpuMsPerBlob!))),
      disturbedRuns: rs.filter((r) => r.disturbed).length,
      errors: rs.reduce((s, r) => s + r.errors, 0),
    };
  }),
);
const row = (label: string, inFlight: number) => summary.find((s) => s.variant === label && s.inFlight === inFlight);
const ratios = loads.map((inFlight) => {
  const c = row("candid", inFlight)?.blobsPerSecond.median;
  const f = row("floor", inFlight)?.blobsPerSecond.median;
  const t = row("tus", inFlight)?.blobsPerSecond.median;
  return { inFlight, candidOverFloor: c && f ? r3(c / f) : null, candidOverTus: c && t ? r3(c / t) : null };
});
const candid = loads.map((l) => row("candid", l)).filter((x) => x !== undefined);
const targets = {
  "Candid >= 1.0x floor at every load": ratios.every((r) => r.candidOverFloor !== null && r.candidOverFloor >= 1),
  "Candid >= 2x durable tus at every load": ratios.every((r) => r.candidOverTus !== null && r.candidOverTus >= 2),
  "Candid CPU per blob <= 0.65 ms (all its processes) at every load": candid.length > 0 && candid.every((s) => s.cpuMsPerBlobTotal <= 0.65),
  "Candid p99 ack at 64 in flight < 50 ms": (row("candid", 64)?.p99Ms ?? Infinity) < 50,
};

console.log("\n| variant | in flight | blobs/s median [min–max] | p50 | p99 | CPU ms per blob (user+kernel per process) | total | driver | disturbed runs |");
console.log("|---|---|---|---|---|---|---|---|---|");
for (const s of summary)
  console.log(
    `| ${s.variant} | ${s.inFlight} | ${s.blobsPerSecond.median.toLocaleString("en")} [${s.blobsPerSecond.min.toLocaleString("en")}–${s.blobsPerSecond.max.toLocaleString("en")}] | ${s.p50Ms} ms | ${s.p99Ms} ms | ` +
      `${Object.entries(s.cpuMsPerBlob).map(([k, c]) => `${k} ${c.user}+${c.system}`).join(", ")} | ${s.cpuMsPerBlobTotal} | ${s.driverCpuMsPerBlob ?? "–"} | ${s.disturbedRuns}/${reps} |`,
  );
for (const r of ratios) console.log(`${r.inFlight} in flight: Candid/floor ${r.candidOverFloor ?? "–"}, Candid/tus ${r.candidOverTus ?? "–"}`);
for (const [t, met] of Object.entries(targets)) console.log(`target ${met ? "MET" : "not met"}: ${t}`);

const result = {
  date: new Date().toISOString(),
  machine: `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${Math.round(totalmem() / 2 ** 30)} GiB, ${process.platform}, Bun ${Bun.version}`,
  settings: { reps, inFlight: loads, warmupSeconds: warmup, seconds, blobBytes: size, candidSessions: sessions, variants: variants.map((v) => (v.kind === "candid" ? { label: v.label, root: v.root === REPO_ROOT ? "." : v.root, env: v.env, unixSockets: v.unix } : { label: v.label })) },
  summary,
  ratios,
  targets,
  runs,
};
mkdirSync(join(values.out!, ".."), { recursive: true });
writeFileSync(values.out!, JSON.stringify(result, null, 2) + "\n");
process.exit(0);
