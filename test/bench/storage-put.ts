/**
 * Benchmark of the storage hot path: N puts of SIZE bytes through ONE gRPC PutBlobs stream of a
 * storage process (fs backend, temp folder), with CONCURRENCY items in flight. Prints puts/s,
 * MB/s and p50/p99 latency (send -> durable answer).
 *
 *   bun test/bench/storage-put.ts [--n 5000] [--concurrency 64] [--size 51200] [--streams 1]
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BlobKind, WriteOutcome } from "../../proto/gen/media/v1/common";
import { type PutBlobsResponse, StorageServiceClient } from "../../proto/gen/media/v1/storage";
import { internalClient } from "../../services/shared/grpc";
import { sha256Hex } from "../../services/storage/core/checksum";
import { freePort, httpOk, startService, TEST_INTERNAL_TOKEN } from "../support/procs";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "5000" },
    concurrency: { type: "string", default: "64" },
    size: { type: "string", default: String(50 * 1024) },
    streams: { type: "string", default: "1" },
    sessions: { type: "string", default: "10" },
    "media-parent": { type: "string" },
    "keep-media": { type: "boolean", default: false },
  },
});
const N = Number(values.n);
const CONCURRENCY = Number(values.concurrency);
const SIZE = Number(values.size);
const STREAMS = Number(values.streams);
const SESSIONS = Number(values.sessions);

/** utime+stime of a process from /proc (Linux), in seconds; assumes 100 ticks/s. */
function procCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

// --keep-media: deleting thousands of files slows the next run's file creations (ext4 without a
// journal; see ack-throughput.ts and docs/benchmarks.md).
const dir = mkdtempSync(join(values["media-parent"] ?? tmpdir(), "candid-bench-storage-"));
const grpcPort = await freePort();
const metricsPort = await freePort();
const svc = await startService({
  name: "storage",
  entry: "services/storage/main.ts",
  env: { STORAGE_BACKEND: "fs", MEDIA_STORAGE_DIR: dir, STORAGE_GRPC_ADDR: `127.0.0.1:${grpcPort}`, STORAGE_METRICS_PORT: String(metricsPort), LOG_LEVEL: "warn" },
  ready: () => httpOk(`http://127.0.0.1:${metricsPort}/readyz`),
});
const client = internalClient(StorageServiceClient, `127.0.0.1:${grpcPort}`, TEST_INTERNAL_TOKEN);

const data = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) data[i] = (i * 2654435761) >>> 24;
const sha = sha256Hex(data);
const sessions = Array.from({ length: SESSIONS }, () => crypto.randomUUID());

const latencies: number[] = [];
let failures = 0;
let next = 0;

async function runStream(): Promise<void> {
  const call = client.putBlobs();
  const sentAt = new Map<number, number>();
  let inFlight = 0;
  let done = 0;
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      while (inFlight < CONCURRENCY && next < N) {
        const i = next++;
        inFlight++;
        sentAt.set(i, performance.now());
        call.write({
          items: [
            {
              requestId: i,
              ref: { sessionId: sessions[i % SESSIONS]!, kind: BlobKind.BLOB_KIND_AUDIO, index: Math.floor(i / SESSIONS), mediaType: "audio/webm" },
              data,
              sha256Hex: sha,
            },
          ],
        });
      }
      if (inFlight === 0 && next >= N) call.end();
    };
    call.on("data", (res: PutBlobsResponse) => {
      for (const r of res.results) {
        latencies.push(performance.now() - sentAt.get(r.requestId)!);
        sentAt.delete(r.requestId);
        if (r.outcome !== WriteOutcome.WRITE_OUTCOME_CREATED) failures++;
        inFlight--;
        done++;
      }
      pump();
    });
    call.on("end", resolve);
    call.on("error", reject);
    pump();
  });
}

const serverCpu0 = procCpuSeconds(svc.proc.pid);
const clientCpu0 = process.cpuUsage();
const t0 = performance.now();
await Promise.all(Array.from({ length: STREAMS }, runStream));
const seconds = (performance.now() - t0) / 1000;
const serverCpu = procCpuSeconds(svc.proc.pid) - serverCpu0;
const clientCpuUs = process.cpuUsage(clientCpu0);

latencies.sort((a, b) => a - b);
const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
const result = {
  machine: `${navigator.hardwareConcurrency} cores`,
  n: N,
  sizeBytes: SIZE,
  concurrency: CONCURRENCY,
  streams: STREAMS,
  failures,
  seconds: Number(seconds.toFixed(2)),
  putsPerSecond: Math.round(N / seconds),
  mbPerSecond: Number(((N * SIZE) / seconds / 1e6).toFixed(1)),
  p50Ms: Number(pct(50).toFixed(1)),
  p99Ms: Number(pct(99).toFixed(1)),
  // CPU per put is less sensitive to other load on the machine than puts/s.
  serverCpuUsPerPut: Math.round((serverCpu * 1e6) / N),
  clientCpuUsPerPut: Math.round((clientCpuUs.user + clientCpuUs.system) / N),
  loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
};
console.log(JSON.stringify(result));

client.close();
await svc.stop("SIGTERM");
if (!values["keep-media"]) rmSync(dir, { recursive: true, force: true });
process.exit(failures ? 1 : 0);
