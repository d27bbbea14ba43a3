/**
 * The orphan sweeper against the real thing: storage (local disk, then S3 on versitygw) and
 * metadata (PostgreSQL) each as its own process over gRPC. The sweep runs in-process through the
 * reaper's gRPC ports with a shifted clock (S3 cannot back-date an object), then as the reaper
 * process itself with a short grace period.
 *  - blobs older than the grace period without a row are deleted, younger ones kept, blobs with
 *    rows never touched (bytes and rows checked afterwards); the leftover of a refused re-send
 *    (chunk_1.mp4 while the row says chunk_1.webm) goes too;
 *  - a dry run deletes nothing but counts what it would;
 *  - a second sweep finds nothing;
 *  - storage sweeps stale temp files at start (fs), and counts them.
 *
 * Needs PostgreSQL (TEST_DATABASE_ADMIN_URL) and versitygw: `source test/system-deps.sh`.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MetadataServiceClient } from "../../proto/gen/media/v1/metadata";
import { StorageServiceClient } from "../../proto/gen/media/v1/storage";
import { MetadataGrpcClient, StorageGrpcClient } from "../../services/gateway/adapters/grpc-clients";
import { grpcOrphanPorts } from "../../services/reaper/adapters/grpc-orphan-ports";
import { type ListedBlob, type SweepResult, sweepOrphans } from "../../services/reaper/core/orphan-sweep";
import type { BlobKind, BlobRef as StoredRef } from "../../services/shared/blob";

type BlobRef = StoredRef & { kind: BlobKind };
import { internalClient } from "../../services/shared/grpc";
import { sha256Hex } from "../../services/storage/core/checksum";
import { type TestDatabase, createTestDatabase } from "../support/postgres";
import { type ServiceProc, TEST_INTERNAL_TOKEN, freePort, grpcReady, httpOk, startService } from "../support/procs";
import { type TestS3, startS3 } from "../support/s3";

const GRACE_MS = 10 * 60_000;
const CLIENT = { streams: 1, timeoutMs: 5000, batchItems: 64, batchBytes: 1 << 20, internalToken: TEST_INTERNAL_TOKEN };

async function eventually(cond: () => Promise<boolean>, ms: number, what: string) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond().catch(() => false)) return;
    await Bun.sleep(100);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}

async function metric(url: string, name: string, labels = ""): Promise<number> {
  const text = await (await fetch(url)).text();
  const line = text.split("\n").find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(labels));
  if (!line) throw new Error(`metric ${name}{${labels}} not found`);
  return Number(line.split(" ").at(-1));
}

const bytesOf = (seed: number, size = 300) => new Uint8Array(size).map((_, i) => (i * 31 + seed) & 0xff);
const audio = (sid: string, index: number, mediaType = "audio/webm"): BlobRef => ({ sessionId: sid, kind: "audio", index, mediaType });
const frame = (sid: string, index: number): BlobRef => ({ sessionId: sid, kind: "frame", index, mediaType: "image/jpeg" });

interface Backend {
  name: "fs" | "s3";
  env(): Promise<Record<string, string>>;
  cleanup(): Promise<void>;
}

/** An old temp file in a session folder, before storage starts (fs). */
function plantStaleTemp(mediaDir: string): string {
  const folder = join(mediaDir, crypto.randomUUID(), "frames");
  mkdirSync(folder, { recursive: true });
  const temp = join(folder, ".frame_0.jpg.0123456789ab.tmp");
  writeFileSync(temp, "half a frame");
  const old = (Date.now() - 2 * 3_600_000) / 1000;
  utimesSync(temp, old, old);
  return temp;
}

let s3: TestS3 | undefined;
const mediaDir = mkdtempSync(join(tmpdir(), "candid-orphans-"));
let staleTemp = "";
let bucket = "";

const backends: Backend[] = [
  {
    name: "fs",
    async env() {
      staleTemp = plantStaleTemp(mediaDir);
      return { STORAGE_BACKEND: "fs", MEDIA_STORAGE_DIR: mediaDir };
    },
    async cleanup() {
      rmSync(mediaDir, { recursive: true, force: true });
    },
  },
  {
    name: "s3",
    async env() {
      s3 = await startS3();
      bucket = await s3.createBucket();
      return {
        STORAGE_BACKEND: "s3",
        S3_BUCKET: bucket,
        S3_PREFIX: "media",
        S3_ENDPOINT: s3.endpoint,
        S3_REGION: s3.region,
        S3_FORCE_PATH_STYLE: "true",
        S3_ACCESS_KEY_ID: s3.accessKeyId,
        S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      };
    },
    async cleanup() {
      if (bucket) await s3?.deleteBucket(bucket).catch(() => {});
      await s3?.stop();
    },
  },
];

for (const backend of backends) {
  describe(`orphan sweeper: ${backend.name} storage + PostgreSQL`, () => {
    let db: TestDatabase;
    let metadata: ServiceProc;
    let storage: ServiceProc;
    const procs: ServiceProc[] = [];
    let storageAddr = "";
    let metadataAddr = "";
    let storageMetrics = "";
    let put: StorageGrpcClient;
    let record: MetadataGrpcClient;
    let rawStorage: StorageServiceClient;
    let rawMetadata: MetadataServiceClient;
    const sid = crypto.randomUUID();
    /** Blobs with their rows, the orphans old enough, the young ones; the clock cut between them. */
    const withRows: BlobRef[] = [];
    const oldOrphans: BlobRef[] = [];
    const youngOrphans: BlobRef[] = [];
    let cutMs = 0;

    const ports = () => grpcOrphanPorts(rawStorage, rawMetadata, { callTimeoutMs: 5000 });
    const sweep = (dryRun: boolean): Promise<SweepResult> =>
      sweepOrphans(ports(), { graceMs: GRACE_MS, pageSize: 3, dryRun, now: () => cutMs + GRACE_MS }, new AbortController().signal);
    const listed = async (): Promise<ListedBlob[]> => {
      const out: ListedBlob[] = [];
      let token = "";
      do {
        const page = await ports().listBlobs(token, 1000, new AbortController().signal);
        out.push(...page.blobs);
        token = page.next;
      } while (token);
      return out.filter((b) => b.ref.sessionId === sid);
    };
    const keys = async () => (await listed()).map((b) => `${b.ref.kind}/${b.ref.index}/${b.ref.mediaType}`).sort();
    const keyOf = (r: BlobRef) => `${r.kind}/${r.index}/${r.mediaType}`;

    async function store(ref: BlobRef, seed: number, withRow: boolean) {
      const data = bytesOf(seed);
      const sha = sha256Hex(data);
      const stored = await put.put(ref, data, sha);
      expect(stored.outcome).toBe("created");
      if (!withRow) return;
      const common = { sessionId: sid, location: stored.location, size: data.byteLength, mediaType: ref.mediaType, sha256Hex: sha, ownerEpoch: 1 };
      const outcome =
        ref.kind === "audio"
          ? await record.recordAudio({ ...common, chunkIndex: ref.index, startMs: 1, endMs: 2, durationMs: 1 })
          : await record.recordFrame({ ...common, frameIndex: ref.index, chunkIndex: 0, timestampMs: 1, offsetMs: 0 });
      expect(outcome).toBe("created");
    }

    beforeAll(async () => {
      db = await createTestDatabase("candid_orphans");
      const [sp, sm, mp, mm] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
      storageAddr = `127.0.0.1:${sp}`;
      metadataAddr = `127.0.0.1:${mp}`;
      storageMetrics = `http://127.0.0.1:${sm}/metrics`;
      metadata = await startService({
        name: "metadata",
        entry: "services/metadata/main.ts",
        env: { DATABASE_URL: db.url, METADATA_GRPC_ADDR: metadataAddr, METADATA_METRICS_PORT: String(mm), LOG_LEVEL: "warn" },
        ready: () => grpcReady(metadataAddr),
      });
      procs.push(metadata);
      storage = await startService({
        name: "storage",
        entry: "services/storage/main.ts",
        env: { ...(await backend.env()), STORAGE_GRPC_ADDR: storageAddr, STORAGE_METRICS_PORT: String(sm), LOG_LEVEL: "info" },
        ready: () => grpcReady(storageAddr),
      });
      procs.push(storage);
      put = new StorageGrpcClient(storageAddr, CLIENT);
      record = new MetadataGrpcClient(metadataAddr, CLIENT);
      rawStorage = internalClient(StorageServiceClient, storageAddr, TEST_INTERNAL_TOKEN);
      rawMetadata = internalClient(MetadataServiceClient, metadataAddr, TEST_INTERNAL_TOKEN);
      await record.openSession({ sessionId: sid, interviewSessionId: null, userId: null, storagePath: sid, ownerInstance: "gw-test" });

      withRows.push(audio(sid, 0), frame(sid, 0), audio(sid, 1));
      for (const [i, r] of withRows.entries()) await store(r, i, true);
      // The leftover of a re-send refused as a conflict: chunk 1 has its row as .webm.
      oldOrphans.push(audio(sid, 1, "audio/mp4"), audio(sid, 2), frame(sid, 1), frame(sid, 2));
      for (const [i, r] of oldOrphans.entries()) await store(r, 10 + i, false);
      // S3 LastModified has second precision: leave more than a second between the two sets.
      cutMs = Date.now();
      await Bun.sleep(1500);
      youngOrphans.push(audio(sid, 3), frame(sid, 3));
      for (const [i, r] of youngOrphans.entries()) await store(r, 20 + i, false);
    }, 60_000);

    afterAll(async () => {
      put?.close();
      record?.close();
      rawStorage?.close();
      rawMetadata?.close();
      await Promise.all(procs.map((p) => p.stop()));
      await db?.drop();
      await backend.cleanup();
    });

    test("a dry run counts the old orphans and deletes nothing", async () => {
      const before = await keys();
      expect(before.length).toBe(withRows.length + oldOrphans.length + youngOrphans.length);
      const r = await sweep(true);
      expect(r.ok).toBe(true);
      expect(r.stats.found).toEqual({ audio: 2, frame: 2 });
      expect(r.stats.foundBytes).toEqual({ audio: 600, frame: 600 });
      expect(r.stats.removed).toEqual({ audio: 0, frame: 0 });
      expect(await keys()).toEqual(before);
    });

    test("the sweep deletes old orphans only; young ones and blobs with rows stay, bytes and rows intact", async () => {
      const r = await sweep(false);
      expect(r.ok).toBe(true);
      expect(r.stats.removed).toEqual({ audio: 2, frame: 2 });
      expect(r.stats.removedBytes).toEqual({ audio: 600, frame: 600 });
      expect(r.stats.pages).toBeGreaterThanOrEqual(3); // 9+ blobs in pages of 3
      expect(await keys()).toEqual([...withRows, ...youngOrphans].map(keyOf).sort());
      for (const [i, ref] of withRows.entries()) {
        const got = await new Promise<{ sha256Hex: string }>((resolve, reject) =>
          rawStorage.getBlob({ ref: { sessionId: ref.sessionId, kind: ref.kind === "audio" ? 1 : 2, index: ref.index, mediaType: ref.mediaType } }, (e, res) =>
            e ? reject(e) : resolve(res),
          ),
        );
        expect(got.sha256Hex).toBe(sha256Hex(bytesOf(i)));
      }
      const rows = await ports().lookupRows(withRows, new AbortController().signal);
      expect(rows.every((p) => p !== null)).toBe(true);
    });

    test("a second sweep finds nothing", async () => {
      const r = await sweep(false);
      expect(r.ok).toBe(true);
      expect(r.stats.found).toEqual({ audio: 0, frame: 0 });
      expect(r.stats.young).toBe(youngOrphans.length);
    });

    if (backend.name === "fs") {
      test("storage swept the stale temp file at start, and counted it", async () => {
        await eventually(async () => !existsSync(staleTemp), 5000, "the temp sweep");
        await eventually(async () => (await metric(storageMetrics, "candid_storage_temp_files_removed_total")) === 1, 5000, "the temp metric");
        expect(await metric(storageMetrics, "candid_storage_temp_bytes_removed_total")).toBe("half a frame".length);
      });

      test("the reaper process: a dry run keeps everything, then a real one removes the orphans, with metrics", async () => {
        const startReaper = async (dryRun: boolean) => {
          const port = await freePort();
          const proc = await startService({
            name: "reaper",
            entry: "services/reaper/main.ts",
            env: {
              METADATA_ADDR: metadataAddr,
              STORAGE_ADDR: storageAddr,
              REAPER_METRICS_PORT: String(port),
              REAPER_ORPHAN_GRACE_MS: "1",
              REAPER_ORPHAN_INTERVAL_MS: "200",
              REAPER_ORPHAN_DRY_RUN: String(dryRun),
              LOG_LEVEL: "info",
            },
            ready: () => httpOk(`http://127.0.0.1:${port}/readyz`),
          });
          procs.push(proc);
          return { proc, metrics: `http://127.0.0.1:${port}/metrics` };
        };
        // Grace 1 ms: the young orphans of the set-up are orphans now.
        const dry = await startReaper(true);
        await eventually(async () => (await metric(dry.metrics, "candid_reaper_orphan_sweeps_total", 'result="ok"')) >= 1, 10_000, "a dry sweep");
        expect(await metric(dry.metrics, "candid_reaper_orphans_found_total", 'kind="frame"')).toBeGreaterThanOrEqual(1);
        expect(await metric(dry.metrics, "candid_reaper_orphans_removed_total", 'kind="frame"')).toBe(0);
        expect(await metric(dry.metrics, "candid_reaper_orphan_dry_run")).toBe(1);
        expect(await dry.proc.stop()).toBe(0);
        expect(dry.proc.logs().some((l) => l.msg === "orphan found (dry run)" && l.sessionId === sid)).toBe(true);
        expect(await keys()).toEqual([...withRows, ...youngOrphans].map(keyOf).sort());

        const real = await startReaper(false);
        await eventually(async () => (await keys()).length === withRows.length, 10_000, "the reaper to remove the orphans");
        expect(await keys()).toEqual(withRows.map(keyOf).sort());
        await eventually(async () => (await metric(real.metrics, "candid_reaper_orphans_removed_total", 'kind="frame"')) >= 1, 5000, "the removed metric");
        expect(await metric(real.metrics, "candid_reaper_orphans_removed_total", 'kind="audio"')).toBeGreaterThanOrEqual(1);
        expect(await metric(real.metrics, "candid_reaper_orphan_bytes_removed_total", 'kind="audio"')).toBeGreaterThanOrEqual(300);
        expect(await real.proc.stop()).toBe(0);
      }, 60_000);
    }
  });
}
