/**
 * The storage service as a separate process (`bun services/storage/main.ts`), spoken to over
 * real gRPC with the generated client: once with the fs backend, once with s3 (versitygw).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import * as grpc from "@grpc/grpc-js";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobKind, WriteOutcome } from "../../proto/gen/media/v1/common";
import {
  type BlobRef,
  type GetBlobRequest,
  type GetBlobResponse,
  type PutBlob,
  type PutBlobsRequest,
  type PutBlobsResponse,
  type PutResult,
  StorageServiceClient,
} from "../../proto/gen/media/v1/storage";
import type { AppError } from "../../services/shared/errors";
import { checkHealth, fromGrpcError, healthClient, internalClient } from "../../services/shared/grpc";
import { sha256Hex } from "../../services/storage/core/checksum";
import { randomBytesOf } from "../contract/blob-store.contract";
import { REPO_ROOT, type ServiceProc, freePort, httpOk, startService, TEST_INTERNAL_TOKEN } from "../support/procs";
import { type TestS3, startS3 } from "../support/s3";

/** One PutBlobs stream: `put` sends items and resolves with their answers (in item order). */
class PutStream {
  readonly call: grpc.ClientDuplexStream<PutBlobsRequest, PutBlobsResponse>;
  private readonly waiting = new Map<number, (r: PutResult) => void>();
  readonly ended: Promise<void>;
  constructor(client: StorageServiceClient) {
    this.call = client.putBlobs();
    this.call.on("data", (res: PutBlobsResponse) => {
      for (const r of res.results) {
        this.waiting.get(r.requestId)?.(r);
        this.waiting.delete(r.requestId);
      }
    });
    this.ended = new Promise((resolve, reject) => {
      this.call.on("end", resolve);
      this.call.on("error", reject);
    });
  }
  /** Sends `items`, `perMessage` of them per PutBlobs message. */
  put(items: PutBlob[], perMessage = items.length): Promise<PutResult[]> {
    const answers = Promise.all(items.map((item) => new Promise<PutResult>((resolve) => this.waiting.set(item.requestId, resolve))));
    for (let i = 0; i < items.length; i += perMessage) this.call.write({ items: items.slice(i, i + perMessage) });
    return answers;
  }
}

let nextId = 1;
function req(ref: BlobRef, data: Uint8Array, sha = sha256Hex(data)): PutBlob {
  return { requestId: nextId++, ref, data: Buffer.from(data), sha256Hex: sha };
}
const audio = (sessionId: string, index: number, mediaType = "audio/webm"): BlobRef => ({ sessionId, kind: BlobKind.BLOB_KIND_AUDIO, index, mediaType });
const frame = (sessionId: string, index: number): BlobRef => ({ sessionId, kind: BlobKind.BLOB_KIND_FRAME, index, mediaType: "image/jpeg" });

type Cb<Res> = (err: grpc.ServiceError | null, res: Res) => void;
function unaryCall<Req, Res>(fn: (req: Req, cb: Cb<Res>) => unknown, r: Req): Promise<Res> {
  return new Promise<Res>((resolve, reject) => fn(r, (err, res) => (err ? reject(fromGrpcError(err)) : resolve(res))));
}

interface Backend {
  env: Record<string, string>;
  /** Reads the stored bytes straight from the backend (not through the service). */
  readStored(sessionPath: string, location: string): Promise<Uint8Array>;
  expectedLocation(key: string): string;
  cleanup(): Promise<void>;
}

function storageSuite(name: string, makeBackend: () => Promise<Backend>) {
  describe(`storage service over gRPC (${name})`, () => {
    let backend: Backend;
    let svc: ServiceProc;
    let client: StorageServiceClient;
    let grpcAddr: string;
    let metricsUrl: string;

    beforeAll(async () => {
      backend = await makeBackend();
      const grpcPort = await freePort();
      const metricsPort = await freePort();
      grpcAddr = `127.0.0.1:${grpcPort}`;
      metricsUrl = `http://127.0.0.1:${metricsPort}`;
      svc = await startService({
        name: `storage-${name}`,
        entry: "services/storage/main.ts",
        env: { STORAGE_GRPC_ADDR: grpcAddr, STORAGE_METRICS_PORT: String(metricsPort), LOG_LEVEL: "info", ...backend.env },
        ready: () => httpOk(`${metricsUrl}/readyz`),
      });
      client = internalClient(StorageServiceClient, grpcAddr, TEST_INTERNAL_TOKEN);
    });

    afterAll(async () => {
      client?.close();
      await svc?.stop("SIGKILL");
      await backend?.cleanup();
    });

    test("logs one 'storage listening' line with ports and backend", () => {
      const line = svc.logs().find((l) => l.msg === "storage listening");
      expect(line).toMatchObject({ service: "storage", backend: name, grpcPort: Number(grpcAddr.split(":")[1]), metricsPort: Number(metricsUrl.split(":")[2]) });
    });

    test("health check is SERVING", async () => {
      const h = healthClient(grpcAddr);
      try {
        expect(await checkHealth(h, 3000)).toBe(true);
      } finally {
        h.close();
      }
    });

    test("PutBlobs: CREATED, IDENTICAL, CONFLICT and per-item errors on one stream", async () => {
      const sid = crypto.randomUUID();
      const chunk0 = randomBytesOf(50 * 1024);
      const frame0 = randomBytesOf(9 * 1024);
      const stream = new PutStream(client);

      const [a, f] = await stream.put([req(audio(sid, 0, "audio/webm;codecs=opus"), chunk0), req(frame(sid, 0), frame0)]);
      expect(a).toMatchObject({ outcome: WriteOutcome.WRITE_OUTCOME_CREATED, location: backend.expectedLocation(`${sid}/audio/chunk_0.webm`) });
      expect(a!.error).toBeUndefined();
      expect(f).toMatchObject({ outcome: WriteOutcome.WRITE_OUTCOME_CREATED, location: backend.expectedLocation(`${sid}/frames/frame_0.jpg`) });
      expect(Buffer.from(await backend.readStored(`${sid}/audio/chunk_0.webm`, a!.location)).equals(Buffer.from(chunk0))).toBe(true);
      expect(Buffer.from(await backend.readStored(`${sid}/frames/frame_0.jpg`, f!.location)).equals(Buffer.from(frame0))).toBe(true);

      const bad = randomBytesOf(100);
      const answers = await stream.put([
        req(audio(sid, 0), chunk0), // IDENTICAL
        req(audio(sid, 0), randomBytesOf(50 * 1024)), // CONFLICT
        req(audio("NOT-A-UUID", 1), bad), // INVALID_SESSION_ID
        req(audio(sid, 2), bad, sha256Hex(randomBytesOf(100))), // CHECKSUM_MISMATCH
        req({ ...frame(sid, 3), kind: BlobKind.BLOB_KIND_UNSPECIFIED }, bad), // INVALID_MESSAGE
        req(frame(sid, 4), bad, "zz"), // INVALID_MESSAGE (sha256 not hex)
        { requestId: nextId++, ref: undefined, data: Buffer.from(bad), sha256Hex: sha256Hex(bad) }, // INVALID_MESSAGE
      ]);
      expect(answers.map((r) => r.outcome)).toEqual([
        WriteOutcome.WRITE_OUTCOME_IDENTICAL,
        WriteOutcome.WRITE_OUTCOME_CONFLICT,
        0, 0, 0, 0, 0,
      ]);
      expect(answers.map((r) => r.error?.code)).toEqual([undefined, undefined, "INVALID_SESSION_ID", "CHECKSUM_MISMATCH", "INVALID_MESSAGE", "INVALID_MESSAGE", "INVALID_MESSAGE"]);
      // The conflicting put did not touch the stored bytes.
      expect(Buffer.from(await backend.readStored(`${sid}/audio/chunk_0.webm`, a!.location)).equals(Buffer.from(chunk0))).toBe(true);

      // The stream is still usable after item errors.
      const [after] = await stream.put([req(audio(sid, 5, "audio/mp4"), bad)]);
      expect(after).toMatchObject({ outcome: WriteOutcome.WRITE_OUTCOME_CREATED, location: backend.expectedLocation(`${sid}/audio/chunk_5.mp4`) });
      stream.call.end();
      await stream.ended;
    });

    test("PutBlobs: many concurrent items (more than the in-flight bound) all answered, then the stream ends", async () => {
      const sid = crypto.randomUUID();
      const stream = new PutStream(client);
      const data = randomBytesOf(20 * 1024);
      const reqs = Array.from({ length: 300 }, (_, i) => req(frame(sid, i), data));
      const answers = await stream.put(reqs, 7);
      expect(answers.every((r) => r.outcome === WriteOutcome.WRITE_OUTCOME_CREATED)).toBe(true);
      expect(new Set(answers.map((r) => r.requestId)).size).toBe(300);
      stream.call.end();
      await stream.ended;
    });

    test("GetBlob / HeadBlob / DeleteBlob", async () => {
      const sid = crypto.randomUUID();
      const data = randomBytesOf(30 * 1024);
      const stream = new PutStream(client);
      await stream.put([req(frame(sid, 1), data)]);
      stream.call.end();
      await stream.ended;

      const ref = frame(sid, 1);
      const getBlob = (r: GetBlobRequest, cb: Cb<GetBlobResponse>) => client.getBlob(r, cb);
      const got = await unaryCall(getBlob, { ref });
      expect(Buffer.from(got.data).equals(Buffer.from(data))).toBe(true);
      expect(got.sha256Hex).toBe(sha256Hex(data));
      const head = await unaryCall(client.headBlob.bind(client), { ref });
      expect(head).toEqual({ exists: true, size: data.byteLength, sha256Hex: sha256Hex(data), location: backend.expectedLocation(`${sid}/frames/frame_1.jpg`) });
      expect(await unaryCall(client.deleteBlob.bind(client), { ref })).toEqual({ deleted: true });
      expect(await unaryCall(client.deleteBlob.bind(client), { ref })).toEqual({ deleted: false });
      expect(await unaryCall(client.headBlob.bind(client), { ref })).toEqual({ exists: false, size: 0, sha256Hex: "", location: "" });
      const missing = await unaryCall(getBlob, { ref }).catch((e: AppError) => e);
      expect((missing as AppError).code).toBe("NOT_FOUND");
      const invalid = await unaryCall(getBlob, { ref: { ...ref, sessionId: "x" } }).catch((e: AppError) => e);
      expect((invalid as AppError).code).toBe("INVALID_SESSION_ID");
    });

    test("/metrics shows the storage counters", async () => {
      const text = await (await fetch(`${metricsUrl}/metrics`)).text();
      expect(text).toMatch(/candid_storage_puts_total\{[^}]*kind="audio"[^}]*outcome="created"[^}]*\} [1-9]/);
      expect(text).toMatch(/candid_storage_puts_total\{[^}]*outcome="identical"[^}]*\} [1-9]/);
      expect(text).toMatch(/candid_storage_puts_total\{[^}]*outcome="conflict"[^}]*\} [1-9]/);
      expect(text).toMatch(/candid_storage_put_bytes_total\{[^}]*kind="frame"[^}]*\} [1-9]/);
      expect(text).toMatch(/candid_storage_put_duration_seconds_count\{[^}]*\} [1-9]/);
      expect(text).toMatch(/candid_storage_errors_total\{[^}]*code="CHECKSUM_MISMATCH"[^}]*\} [1-9]/);
      expect(text).toMatch(/candid_storage_errors_total\{[^}]*code="NOT_FOUND"[^}]*\} [1-9]/);
    });

    test("logs never contain payload bytes", () => {
      const out = svc.output();
      expect(out).not.toContain('"data"');
      expect(svc.logs().every((l) => l.service === "storage")).toBe(true);
    });

    test("SIGTERM: items in flight are answered, then the process exits 0", async () => {
      const sid = crypto.randomUUID();
      const stream = new PutStream(client);
      const data = randomBytesOf(50 * 1024);
      const pending = stream.put(Array.from({ length: 40 }, (_, i) => req(audio(sid, i), data)));
      await Bun.sleep(5);
      svc.proc.kill("SIGTERM");
      const answers = await pending;
      expect(answers.every((r) => r.outcome === WriteOutcome.WRITE_OUTCOME_CREATED)).toBe(true);
      stream.call.end();
      await stream.ended;
      expect(await svc.proc.exited).toBe(0);
      expect(svc.logs().some((l) => l.msg === "storage stopped")).toBe(true);
    });
  });
}

storageSuite("fs", async () => {
  const dir = mkdtempSync(join(tmpdir(), "candid-storage-it-"));
  const root = join(dir, "media");
  return {
    env: { STORAGE_BACKEND: "fs", MEDIA_STORAGE_DIR: root },
    expectedLocation: (key) => join(root, key),
    readStored: async (key, location) => {
      expect(location).toBe(join(root, key));
      return readFileSync(join(root, key));
    },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

let s3: TestS3 | undefined;
afterAll(async () => {
  await s3?.stop();
});

storageSuite("s3", async () => {
  s3 ??= await startS3();
  const bucket = await s3.createBucket();
  const prefix = "candid-media";
  const server = s3;
  return {
    env: {
      STORAGE_BACKEND: "s3",
      S3_BUCKET: bucket,
      S3_PREFIX: prefix,
      S3_ENDPOINT: server.endpoint,
      S3_REGION: server.region,
      S3_ACCESS_KEY_ID: server.accessKeyId,
      S3_SECRET_ACCESS_KEY: server.secretAccessKey,
    },
    expectedLocation: (key) => `s3://${bucket}/${prefix}/${key}`,
    readStored: async (key) => {
      const r = await server.client.send(new GetObjectCommand({ Bucket: bucket, Key: `${prefix}/${key}` }));
      return r.Body!.transformToByteArray();
    },
    cleanup: async () => server.deleteBucket(bucket),
  };
});

describe("storage service configuration", () => {
  test("STORAGE_BACKEND=s3 without S3_BUCKET exits 2 naming the problem", async () => {
    const proc = Bun.spawn([process.execPath, join(REPO_ROOT, "services/storage/main.ts")], {
      cwd: REPO_ROOT,
      env: { ...process.env, STORAGE_BACKEND: "s3", S3_BUCKET: "", STORAGE_GRPC_ADDR: "127.0.0.1:0", STORAGE_METRICS_PORT: "0" },
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(await proc.exited).toBe(2);
    const out = await new Response(proc.stdout as ReadableStream).text();
    const line = JSON.parse(out.trim().split("\n")[0]!);
    expect(line.msg).toBe("invalid configuration");
    expect(line.problems).toContain("S3_BUCKET is required when STORAGE_BACKEND=s3");
  });
});
