/**
 * Benchmark: N concurrent simulated sessions through the real stack (gateway, storage on local
 * disk, metadata on PostgreSQL; separate processes, real gRPC). Each session keeps `window` blobs
 * in flight (metadata + binary frame, alternating audio chunks and frames of `size` bytes) and
 * counts an item done at its ack. Prints acked blobs/s, MB/s, p50/p99 ack latency (client side,
 * from sending the blob to receiving its ack) and the gateway's peak RSS, and writes them to
 * docs/bench/ack-throughput.json.
 *
 *   bun test/bench/ack-throughput.ts [--sessions 16] [--seconds 15] [--window 4] [--size 51200] [--warmup 5]
 *     [--pace closed|interview] [--media-parent DIR] [--keep-media]
 * `--pace closed` (the default) is a closed loop: a session sends its next blob as soon as one is
 * acked, so it measures the stack's capacity. `--pace interview` sends what a real interview
 * sends, a frame every 2 s and an audio chunk every 10 s per session (0.6 blobs/s, each session at
 * a random phase of both), at most `window` unacked, the sessions running on from warm-up into
 * the measured part: it measures the ack latency of N concurrent interviews.
 * Before starting it times creating files in the storage root and prints a warning when that is
 * slow: ext4 without a journal skips inodes freed in the last 1-5 minutes, one lookup each, so
 * right after a run (or the tests) deleted thousands of files, creating one costs 10x more.
 * `--keep-media` leaves this run's files in place so the next run is not slowed by deleting them.
 * Needs TEST_DATABASE_ADMIN_URL (or a local PostgreSQL with postgres/postgres), like the tests.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import postgres from "postgres";
import { REPO_ROOT } from "../support/procs";
import { startStack } from "../support/stack";
import { benchLimits, percentile, requireFreeDisk, sessionDriver } from "./support/driver";
import { cpuSeconds, postgresCpuSeconds, rssKb } from "./support/procfs";

const { values } = parseArgs({
  options: {
    sessions: { type: "string", default: "16" },
    seconds: { type: "string", default: "15" },
    window: { type: "string", default: "4" },
    size: { type: "string", default: "51200" },
    warmup: { type: "string", default: "5" },
    out: { type: "string", default: join(REPO_ROOT, "docs/bench/ack-throughput.json") },
    "media-parent": { type: "string" },
    "keep-media": { type: "boolean", default: false },
    pace: { type: "string", default: "closed" },
  },
});
if (values.pace !== "closed" && values.pace !== "interview") throw new Error("--pace is closed or interview");
const sessions = Number(values.sessions);
const seconds = Number(values.seconds);
const window = Number(values.window);
const size = Number(values.size);
const warmup = Number(values.warmup);

/**
 * This VM's speed drifts (by up to 2x within an hour, the same code and load): SHA-256 of 256 MiB
 * on one core, timed before the run, puts a number on it so runs can be compared.
 */
function sha256MBps(): number {
  const buf = new Uint8Array(64 << 20).fill(7);
  const t = performance.now();
  for (let i = 0; i < 4; i++) new Bun.CryptoHasher("sha256").update(buf).digest();
  return Math.round(256 / 1.048576 / ((performance.now() - t) / 1000));
}
const cpuSha256MBps = sha256MBps();

// Every run writes 0.5-1.5 GB of blobs, and `--keep-media` leaves them: refuse to fill the disk.
requireFreeDisk(values["media-parent"], 8, "benchmark");

const stack = await startStack({
  gatewayEnv: { GATEWAY_MAX_PENDING: String(Math.max(64, window * 4)), ...benchLimits(sessions) },
  mediaParent: values["media-parent"],
  keepMedia: values["keep-media"],
});
// As an interview platform does: one interview, one upload token per candidate's session.
const interviewId = await stack.api.createInterview("ack-throughput benchmark");

/** Mean ms to create, write (`size` bytes) and close one new file in the storage root. */
function fileCreateMs(n = 300): number {
  const dir = join(stack.mediaDir, ".probe");
  mkdirSync(dir);
  const buf = Buffer.alloc(size, 1);
  const t = performance.now();
  for (let i = 0; i < n; i++) writeFileSync(join(dir, String(i)), buf, { flag: "wx" });
  return Number(((performance.now() - t) / n).toFixed(3));
}
const probeMs = fileCreateMs();
if (probeMs > 0.2)
  console.warn(
    `benchmark: creating a file in ${stack.mediaDir} takes ${probeMs} ms (normally < 0.1): on ext4 without a journal ` +
      "files deleted in the last 1-5 minutes slow every new file down; the figures will be low",
  );
const driver = sessionDriver({ stack, interviewId, pace: values.pace, window, size });
const stats = driver.stats;
let peakRss = rssKb(stack.gateway.proc.pid);
const rssTimer = setInterval(() => (peakRss = Math.max(peakRss, rssKb(stack.gateway.proc.pid))), 200);

/** One Prometheus histogram, summed over its label sets: sum, count and cumulative counts by `le`. */
interface Histo {
  sum: number;
  count: number;
  buckets: Map<string, number>;
}
async function scrapeHistogram(url: string, name: string): Promise<Histo> {
  const h: Histo = { sum: 0, count: 0, buckets: new Map() };
  for (const line of (await (await fetch(url)).text()).split("\n")) {
    if (!line.startsWith(`${name}_`)) continue;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (line.startsWith(`${name}_sum`)) h.sum += value;
    else if (line.startsWith(`${name}_count`)) h.count += value;
    else {
      const le = /le="([^"]+)"/.exec(line)?.[1];
      if (le) h.buckets.set(le, (h.buckets.get(le) ?? 0) + value);
    }
  }
  return h;
}
/** sum / count times `scale` (1000: seconds to ms). */
const histogramMean = (h: Histo, scale = 1000) => (h.count ? Number(((h.sum / h.count) * scale).toFixed(2)) : null);
/** The bucket bound (ms) under which `p` percent of what was observed between two scrapes falls. */
function bucketPercentileMs({ buckets: before }: Histo, { buckets: after }: Histo, p: number): number | null {
  const total = (after.get("+Inf") ?? 0) - (before.get("+Inf") ?? 0);
  if (!total) return null;
  for (const [le, n] of after) if (le !== "+Inf" && n - (before.get(le) ?? 0) >= (p / 100) * total) return Number(le) * 1000;
  return Infinity;
}
const GATEWAY_ACK = "candid_gateway_ack_latency_seconds";

console.log(`benchmark: ${sessions} sessions, ${values.pace} pace, window ${window}, ${size} B blobs, ${seconds} s`);
// Warm-up at full load, not measured: JIT, connections, and (on a fresh VM) the first touch of
// guest memory, which makes the first ~15k file creations 10-40x slower than later ones.
const w0 = performance.now();
const runAll = (deadline: number) => driver.runAll(sessions, deadline);
// At interview pace the sessions run on through warm-up and measurement: connecting thousands of
// sessions at once is a burst of its own, not the steady state being measured.
const continuous = values.pace === "interview" ? runAll(w0 + (warmup + seconds) * 1000) : null;
if (continuous) await Bun.sleep(warmup * 1000);
else await runAll(w0 + warmup * 1000);
const warmupAcked = stats.acked;
// The database was created a few seconds ago: its plans were cached before it had statistics.
// Autovacuum analyzes it within autovacuum_naptime (1 min) and the plans are rebuilt; do that
// now so the measured part is the steady state a running deployment is in.
const db = postgres(stack.db.url, { max: 1, onnotice: () => {} });
await db`analyze`;
await db.end({ timeout: 5 });
stats.latencies.length = 0;
stats.acked = 0;
stats.errors = 0;
const procs = { gateway: stack.gateway.proc.pid, storage: stack.storage.proc.pid, metadata: stack.metadata.proc.pid, driver: process.pid };
const cpu0 = Object.fromEntries(Object.entries(procs).map(([k, pid]) => [k, cpuSeconds(pid)]));
const pg0 = postgresCpuSeconds();
const gatewayAck0 = await scrapeHistogram(stack.gatewayMetricsUrl, GATEWAY_ACK);
const t0 = performance.now();
await (continuous ?? runAll(t0 + seconds * 1000));
const gatewayAck1 = await scrapeHistogram(stack.gatewayMetricsUrl, GATEWAY_ACK);
const elapsed = (performance.now() - t0) / 1000;
const { latencies, acked, errors } = stats;
const cpuMsPerBlob = Object.fromEntries(
  Object.entries(procs).map(([k, pid]) => [k, Number((((cpuSeconds(pid) - cpu0[k]!) * 1000) / Math.max(1, acked)).toFixed(3))]),
);
cpuMsPerBlob.postgres = Number((((postgresCpuSeconds() - pg0) * 1000) / Math.max(1, acked)).toFixed(3));
clearInterval(rssTimer);

latencies.sort((a, b) => a - b);

const serverSideMs = {
  gatewayAck: histogramMean(gatewayAck1),
  storagePut: histogramMean(await scrapeHistogram(stack.storageMetricsUrl, "candid_storage_put_duration_seconds")),
  metadataCommit: histogramMean(await scrapeHistogram(stack.metadataMetricsUrl, "candid_metadata_commit_duration_seconds")),
};
const metadataBatchMean = histogramMean(await scrapeHistogram(stack.metadataMetricsUrl, "candid_metadata_batch_size"), 1);
const pct = (p: number) => percentile(latencies, p);
const result = {
  date: new Date().toISOString(),
  machine: `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${Math.round(totalmem() / 2 ** 30)} GiB, ${process.platform}`,
  setup: "gateway + storage (fs, fsync) + metadata (PostgreSQL 15), separate processes, real gRPC; driver in a 4th process",
  sessions,
  pace: values.pace,
  window,
  blobBytes: size,
  seconds: Number(elapsed.toFixed(2)),
  warmupSeconds: warmup,
  warmupAckedBlobs: warmupAcked,
  ackedBlobs: acked,
  errors,
  ackedBlobsPerSecond: Math.round(acked / elapsed),
  megabytesPerSecond: Number(((acked * size) / elapsed / 1e6).toFixed(1)),
  ackLatencyMs: { p50: Number(pct(50).toFixed(1)), p99: Number(pct(99).toFixed(1)), max: Number((latencies.at(-1) ?? 0).toFixed(1)) },
  /** The same inside the gateway (blob arrival to ack), from its histogram: the bucket bound p50/p99 fall under. */
  gatewayAckBucketMs: { p50: bucketPercentileMs(gatewayAck0, gatewayAck1, 50), p99: bucketPercentileMs(gatewayAck0, gatewayAck1, 99) },
  gatewayPeakRssMiB: Number((peakRss / 1024).toFixed(1)),
  /** Creating one file of blobBytes in the storage root before the run (the probe above), ms. */
  fileCreateMs: probeMs,
  /** SHA-256 throughput of one core before the run (MB/s): the machine's speed at the time. */
  cpuSha256MBps,
  /** CPU milliseconds each process spent per acked blob (postgres: all its processes). */
  cpuMsPerBlob,
  /** Mean time inside the services (warm-up included): blob arrival to ack in the gateway, one put, one metadata transaction. */
  serverSideMeanMs: serverSideMs,
  /** Mean records per metadata transaction (warm-up included). */
  metadataBatchMean,
};
console.log(JSON.stringify(result, null, 2));
mkdirSync(join(values.out!, ".."), { recursive: true });
writeFileSync(values.out!, JSON.stringify(result, null, 2) + "\n");
await stack.stop();
process.exit(0);
