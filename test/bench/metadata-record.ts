/**
 * Bench: N records through RecordBlobs of a metadata process against real PostgreSQL.
 *
 *   bun test/bench/metadata-record.ts [N=5000] [CONCURRENCY=64] [STREAMS=4] [SESSIONS=8]
 *
 * CONCURRENCY is the number of unanswered records in flight in total (split over STREAMS
 * streams); a record's latency is from its write to its answer (i.e. to its commit). Items are
 * 1 audio chunk per 5 frames, spread over SESSIONS sessions. Needs TEST_DATABASE_ADMIN_URL
 * (default postgres://postgres:postgres@127.0.0.1:5432/postgres); uses a fresh database.
 */
import { MetadataServiceClient, type BlobRecord, type RecordBlobsResponse } from "../../proto/gen/media/v1/metadata";
import { internalClient } from "../../services/shared/grpc";
import { freePort, httpOk, startService, TEST_INTERNAL_TOKEN } from "../support/procs";
import { createTestDatabase } from "../support/postgres";

const [N = 5000, CONCURRENCY = 64, STREAMS = 4, SESSIONS = 8] = process.argv.slice(2).map(Number);

type Item = NonNullable<BlobRecord["item"]>;

function makeItem(k: number, sessions: string[]): Item {
  const sessionId = sessions[k % sessions.length]!;
  const j = Math.floor(k / sessions.length);
  const sha256Hex = new Bun.CryptoHasher("sha256").update(`${sessionId}/${k}`).digest("hex");
  if (j % 6 === 0) {
    const chunkIndex = j / 6;
    return {
      $case: "audio",
      value: { sessionId, chunkIndex, filePath: `/m/${sessionId}/audio/chunk_${chunkIndex}.webm`, fileSize: 160_000, mimeType: "audio/webm", startTimestampMs: Date.now(), endTimestampMs: Date.now() + 10_000, durationMs: 10_000, sha256Hex, ownerEpoch: 1 },
    };
  }
  const frameIndex = j - Math.floor(j / 6) - 1;
  return {
    $case: "frame",
    value: { sessionId, frameIndex, chunkIndex: Math.floor(j / 6), filePath: `/m/${sessionId}/frames/frame_${frameIndex}.jpg`, fileSize: 9_000, mimeType: "image/jpeg", timestampMs: Date.now(), offsetMs: 2000, sha256Hex, ownerEpoch: 1 },
  };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const db = await createTestDatabase("candid_bench");
const grpcPort = await freePort();
const metricsPort = await freePort();
const svc = await startService({
  name: "metadata",
  entry: "services/metadata/main.ts",
  env: { DATABASE_URL: db.url, METADATA_GRPC_ADDR: `127.0.0.1:${grpcPort}`, METADATA_METRICS_PORT: String(metricsPort), LOG_LEVEL: "warn" },
  ready: () => httpOk(`http://127.0.0.1:${metricsPort}/readyz`),
});
const client = internalClient(MetadataServiceClient, `127.0.0.1:${grpcPort}`, TEST_INTERNAL_TOKEN);
try {
  const sessions = Array.from({ length: SESSIONS }, () => crypto.randomUUID());
  for (const sessionId of sessions) {
    await new Promise<void>((res, rej) =>
      client.openSession({ sessionId, interviewSessionId: 0, hasInterviewSessionId: false, userId: 0, hasUserId: false, storagePath: "/m", ownerInstance: "bench" }, (e) => (e ? rej(e) : res())),
    );
  }
  const items = Array.from({ length: N }, (_, k) => makeItem(k, sessions));
  const latencies: number[] = [];
  const outcomes = new Map<string, number>();
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: STREAMS }, (_, s) => {
      const window = Math.max(1, Math.floor(CONCURRENCY / STREAMS) + (s < CONCURRENCY % STREAMS ? 1 : 0));
      return new Promise<void>((resolve, reject) => {
        const stream = client.recordBlobs();
        const sentAt = new Map<number, number>();
        const sendOne = () => {
          if (next >= N) return false;
          const k = next++;
          sentAt.set(k, performance.now());
          stream.write({ items: [{ requestId: k, item: items[k] }] });
          return true;
        };
        stream.on("data", (res: RecordBlobsResponse) => {
          for (const r of res.results) {
            latencies.push(performance.now() - sentAt.get(r.requestId)!);
            sentAt.delete(r.requestId);
            const o = r.error ? r.error.code : String(r.outcome);
            outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
            if (!sendOne() && sentAt.size === 0) stream.end();
          }
        });
        stream.on("error", reject);
        stream.on("end", resolve);
        let started = 0;
        while (started < window && sendOne()) started++;
        if (started === 0) stream.end();
      });
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const sum = Number(/candid_metadata_batch_size_sum\{[^}]*\} (\S+)/.exec(metrics)?.[1]);
  const count = Number(/candid_metadata_batch_size_count\{[^}]*\} (\S+)/.exec(metrics)?.[1]);
  console.log(
    JSON.stringify({
      records: N,
      concurrency: CONCURRENCY,
      streams: STREAMS,
      sessions: SESSIONS,
      seconds: Number(seconds.toFixed(3)),
      recordsPerSecond: Math.round(N / seconds),
      p50Ms: Number(pct(latencies, 50).toFixed(2)),
      p99Ms: Number(pct(latencies, 99).toFixed(2)),
      transactions: count,
      meanBatchSize: Number((sum / count).toFixed(1)),
      outcomes: Object.fromEntries(outcomes), // 1 = WRITE_OUTCOME_CREATED
    }),
  );
} finally {
  client.close();
  await svc.stop();
  await db.drop();
}
