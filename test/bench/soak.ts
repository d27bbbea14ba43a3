/**
 * Soak: N interviews at interview pace (a frame every 2 s, a 10 s audio chunk every 10 s, 50 KiB
 * each, random phases) through the real stack for D seconds, sampling every `interval` seconds the
 * resident memory (VmRSS) and open file descriptors (/proc/PID/fd) of the gateway, storage and
 * metadata processes, the blobs acked and errors so far, and the ack p99 of the last interval.
 * Prints one line per sample and a summary: the slope of each process's RSS (MiB per minute) and
 * fds (per minute) over the second half of the run (the first half is warm-up: connecting, JIT,
 * pools, the allocator reaching its working set), and the verdict "flat" when every slope is
 * under its threshold. After the sessions close it samples once more: the fds should be back near
 * where they started. Writes everything to docs/bench/soak.json.
 *
 *   bun test/bench/soak.ts [--interviews 1000] [--seconds 600] [--interval 10] [--window 8] [--size 51200]
 *     [--rss-mib-per-min 2] [--fds-per-min 1] [--media-parent DIR] [--keep-media] [--out FILE]
 *
 * Not a timed test: run it on a quiet machine (docs/benchmarks.md). Needs TEST_DATABASE_ADMIN_URL
 * (or a local PostgreSQL with postgres/postgres), like the tests (`source test/system-deps.sh`).
 * The stack's database and media folder are removed at the end, also on Ctrl-C.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { REPO_ROOT } from "../support/procs";
import { startStack } from "../support/stack";
import { benchLimits, INTERVIEW_BLOBS_PER_S, percentile, requireFreeDisk, sessionDriver } from "./support/driver";
import { openFds, rssKb } from "./support/procfs";

const { values } = parseArgs({
  options: {
    interviews: { type: "string", default: "1000" },
    seconds: { type: "string", default: "600" },
    interval: { type: "string", default: "10" },
    window: { type: "string", default: "8" },
    size: { type: "string", default: "51200" },
    "rss-mib-per-min": { type: "string", default: "2" },
    "fds-per-min": { type: "string", default: "1" },
    out: { type: "string", default: join(REPO_ROOT, "docs/bench/soak.json") },
    "media-parent": { type: "string" },
    "keep-media": { type: "boolean", default: false },
  },
});
const interviews = Number(values.interviews);
const seconds = Number(values.seconds);
const interval = Number(values.interval);
const window = Number(values.window);
const size = Number(values.size);
const threshold = { rssMiBPerMin: Number(values["rss-mib-per-min"]), fdsPerMin: Number(values["fds-per-min"]) };

// Every blob stays on disk until the end: 1,000 interviews for 10 min at 50 KiB is ~17 GiB.
const expectedGiB = (interviews * INTERVIEW_BLOBS_PER_S * seconds * size) / 2 ** 30;
requireFreeDisk(values["media-parent"], expectedGiB * 1.2 + 2, "soak");

const stack = await startStack({
  gatewayEnv: { GATEWAY_MAX_PENDING: String(Math.max(64, window * 4)), ...benchLimits(interviews) },
  mediaParent: values["media-parent"],
  keepMedia: values["keep-media"],
});
let stopping: Promise<void> | undefined;
const stop = () => (stopping ??= stack.stop());
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.on(sig, () => {
    console.error(`soak: ${sig}, stopping the stack (database and media folder are removed)`);
    void stop().finally(() => process.exit(130));
  });

const procs = { gateway: stack.gateway.proc.pid, storage: stack.storage.proc.pid, metadata: stack.metadata.proc.pid };
type ProcName = keyof typeof procs;
const names = Object.keys(procs) as ProcName[];

interface Sample {
  /** Seconds since the sessions started. */
  t: number;
  sessionsOpen: number;
  ackedBlobs: number;
  errors: number;
  failedSessions: number;
  /** Acked blobs per second over the last interval. */
  blobsPerSecond: number;
  /** Client-side ack latency p99 over the last interval (null: no ack in it). */
  ackP99Ms: number | null;
  rssMiB: Record<ProcName, number>;
  fds: Record<ProcName, number>;
}

try {
  const interviewId = await stack.api.createInterview("soak benchmark");
  const driver = sessionDriver({ stack, interviewId, pace: "interview", window, size });
  const { stats } = driver;
  let failedSessions = 0;
  let firstFailure: string | undefined;
  const samples: Sample[] = [];
  let lastAcked = 0;
  let lastT = 0;
  const t0 = performance.now();
  const sample = (): Sample => {
    const t = (performance.now() - t0) / 1000;
    stats.latencies.sort((a, b) => a - b);
    const s: Sample = {
      t: Number(t.toFixed(1)),
      sessionsOpen: stats.open,
      ackedBlobs: stats.acked,
      errors: stats.errors,
      failedSessions,
      blobsPerSecond: t > lastT ? Math.round((stats.acked - lastAcked) / (t - lastT)) : 0,
      ackP99Ms: stats.latencies.length ? Number(percentile(stats.latencies, 99).toFixed(1)) : null,
      rssMiB: Object.fromEntries(names.map((n) => [n, Number((rssKb(procs[n]) / 1024).toFixed(1))])) as Record<ProcName, number>,
      fds: Object.fromEntries(names.map((n) => [n, openFds(procs[n])])) as Record<ProcName, number>,
    };
    stats.latencies.length = 0;
    lastAcked = stats.acked;
    lastT = t;
    samples.push(s);
    console.log(
      `t=${String(Math.round(s.t)).padStart(4)}s open=${s.sessionsOpen} acked=${s.ackedBlobs} (${s.blobsPerSecond}/s) errors=${s.errors}` +
        `${s.failedSessions ? ` failed=${s.failedSessions}` : ""} ack_p99=${s.ackP99Ms ?? "-"}ms ` +
        names.map((n) => `${n} ${s.rssMiB[n]} MiB ${s.fds[n]} fds`).join(", "),
    );
    return s;
  };

  console.log(`soak: ${interviews} interviews at interview pace, window ${window}, ${size} B blobs, ${seconds} s, a sample every ${interval} s`);
  sample(); // the idle stack, before any session
  const deadline = t0 + seconds * 1000;
  const sessions = Promise.all(
    Array.from({ length: interviews }, (_, s) =>
      driver.runSession(s, deadline).catch((e) => {
        failedSessions++;
        firstFailure ??= String(e);
      }),
    ),
  );
  for (let k = 1; k * interval <= seconds; k++) {
    await Bun.sleep(Math.max(0, t0 + k * interval * 1000 - performance.now()));
    sample();
  }
  await sessions;
  // Closed sockets leave the gateway's fd table at the next tick of its event loop: give it a moment.
  await Bun.sleep(2_000);
  const afterClose = sample();

  /** Least-squares slope of `y` per minute over the samples of the second half of the run. */
  const secondHalf = samples.filter((s) => s !== afterClose && s.t >= seconds / 2);
  const slopePerMin = (y: (s: Sample) => number): number | null => {
    if (secondHalf.length < 2) return null;
    const xs = secondHalf.map((s) => s.t / 60);
    const ys = secondHalf.map(y);
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    let num = 0;
    let den = 0;
    for (let i = 0; i < xs.length; i++) {
      num += (xs[i]! - mx) * (ys[i]! - my);
      den += (xs[i]! - mx) ** 2;
    }
    return Number((num / den).toFixed(3));
  };
  const under = (v: number | null, max: number) => v !== null && Math.abs(v) < max;
  const perProcess = Object.fromEntries(
    names.map((n) => {
      const rssMiBPerMin = slopePerMin((s) => s.rssMiB[n]);
      const fdsPerMin = slopePerMin((s) => s.fds[n]);
      const flat = under(rssMiBPerMin, threshold.rssMiBPerMin) && under(fdsPerMin, threshold.fdsPerMin);
      const rising = (rssMiBPerMin ?? 0) > 0 || (fdsPerMin ?? 0) > 0;
      return [n, { rssMiBPerMin, fdsPerMin, verdict: flat ? "flat" : rising ? "growing" : "falling" }];
    }),
  ) as Record<ProcName, { rssMiBPerMin: number | null; fdsPerMin: number | null; verdict: string }>;
  const verdict = names.every((n) => perProcess[n].verdict === "flat") ? "flat" : "not flat";
  const range = (f: (s: Sample) => number) => {
    const v = secondHalf.map(f);
    return v.length ? { min: Math.min(...v), max: Math.max(...v) } : null;
  };
  const p99s = secondHalf.map((s) => s.ackP99Ms).filter((v): v is number => v !== null);

  const result = {
    date: new Date().toISOString(),
    machine: `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${Math.round(totalmem() / 2 ** 30)} GiB, ${process.platform}`,
    setup: "gateway + storage (fs, fsync) + metadata (PostgreSQL), separate processes, real gRPC; driver in a 4th process",
    interviews,
    seconds,
    intervalSeconds: interval,
    window,
    blobBytes: size,
    ackedBlobs: stats.acked,
    errors: stats.errors,
    failedSessions,
    firstFailure,
    /** |slope| over the second half under which a process counts as flat. */
    threshold,
    /** RSS (MiB per minute) and fd (per minute) slopes over the second half, per process. */
    slopes: perProcess,
    verdict,
    /** Second half: RSS and fds ranges per process, and the worst interval's ack p99. */
    secondHalf: {
      fromSecond: seconds / 2,
      rssMiB: Object.fromEntries(names.map((n) => [n, range((s) => s.rssMiB[n])])),
      fds: Object.fromEntries(names.map((n) => [n, range((s) => s.fds[n])])),
      worstAckP99Ms: p99s.length ? Math.max(...p99s) : null,
    },
    /** Before any session (the first sample) and after every session closed (the last). */
    idle: { before: samples[0], afterClose },
    samples,
  };
  console.log(
    `soak: ${result.ackedBlobs} blobs acked, ${result.errors} errors, ${failedSessions} sessions failed; second half (from ${seconds / 2} s): ` +
      names.map((n) => `${n} RSS ${perProcess[n].rssMiBPerMin ?? "-"} MiB/min, fds ${perProcess[n].fdsPerMin ?? "-"}/min (${perProcess[n].verdict})`).join("; ") +
      `; worst ack p99 ${result.secondHalf.worstAckP99Ms ?? "-"} ms; fds idle before/after: ` +
      names.map((n) => `${n} ${samples[0]!.fds[n]}/${afterClose.fds[n]}`).join(", "),
  );
  console.log(`soak: verdict ${verdict} (thresholds: RSS < ${threshold.rssMiBPerMin} MiB/min, fds < ${threshold.fdsPerMin}/min)`);
  if (firstFailure) console.log(`soak: first failed session: ${firstFailure}`);
  mkdirSync(join(values.out!, ".."), { recursive: true });
  writeFileSync(values.out!, JSON.stringify(result, null, 2) + "\n");
  console.log(`soak: wrote ${values.out}`);
} finally {
  await stop();
}
process.exit(0);
