/**
 * The internal token (CANDID_INTERNAL_TOKEN) on the real storage and metadata services, each its
 * own process over real gRPC: a call without the token, or with a wrong one, is refused with
 * UNAUTHENTICATED (INTERNAL_TOKEN_INVALID) and changes nothing; grpc.health.v1 stays open; the
 * token never reaches a log line; a service without a token refuses to start.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { BlobKind, WriteOutcome } from "../../proto/gen/media/v1/common";
import { type GetSessionStatusResponse, MetadataServiceClient, SessionStatus } from "../../proto/gen/media/v1/metadata";
import { type HeadBlobResponse, type PutBlobsResponse, StorageServiceClient } from "../../proto/gen/media/v1/storage";
import { ERROR_CODE_KEY, checkHealth, healthClient, internalClient } from "../../services/shared/grpc";
import { sha256Hex } from "../../services/shared/sha256";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { type ServiceProc, TEST_INTERNAL_TOKEN, freePort, httpOk, startService } from "../support/procs";

const WRONG_TOKEN = `wrong-${TEST_INTERNAL_TOKEN}`;

let db: TestDatabase;
let mediaDir: string;
let storage: ServiceProc;
let metadata: ServiceProc;
let storageAddr: string;
let metadataAddr: string;
const clients: grpc.Client[] = [];

/** The three callers of every test: the real one, one without a token, one with a wrong token. */
function callers<C extends grpc.Client>(Client: new (address: string, creds: grpc.ChannelCredentials) => C, address: string) {
  const make = <T extends grpc.Client>(c: T) => (clients.push(c), c);
  return {
    good: make(internalClient(Client, address, TEST_INTERNAL_TOKEN)),
    refused: [
      ["no token", make(new Client(address, grpc.credentials.createInsecure()))],
      ["a wrong token", make(internalClient(Client, address, WRONG_TOKEN))],
    ] as Array<[string, C]>,
  };
}

type Cb<Res> = (err: grpc.ServiceError | null, res: Res) => void;
const unary = <Res>(fn: (cb: Cb<Res>) => unknown) =>
  new Promise<{ err: grpc.ServiceError | null; res: Res }>((resolve) => fn((err, res) => resolve({ err, res })));

function expectRefused(err: grpc.ServiceError | null) {
  expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
  expect(err?.metadata.get(ERROR_CODE_KEY)).toEqual(["INTERNAL_TOKEN_INVALID"]);
}

beforeAll(async () => {
  db = await createTestDatabase("candid_internal_token");
  mediaDir = mkdtempSync(join(tmpdir(), "candid-token-"));
  const [sp, sm, mp, mm] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  storageAddr = `127.0.0.1:${sp}`;
  metadataAddr = `127.0.0.1:${mp}`;
  [storage, metadata] = await Promise.all([
    startService({
      name: "storage",
      entry: "services/storage/main.ts",
      env: { STORAGE_BACKEND: "fs", MEDIA_STORAGE_DIR: mediaDir, STORAGE_GRPC_ADDR: storageAddr, STORAGE_METRICS_PORT: String(sm), LOG_LEVEL: "debug" },
      ready: () => httpOk(`http://127.0.0.1:${sm}/readyz`),
    }),
    startService({
      name: "metadata",
      entry: "services/metadata/main.ts",
      env: { DATABASE_URL: db.url, METADATA_GRPC_ADDR: metadataAddr, METADATA_METRICS_PORT: String(mm), LOG_LEVEL: "debug" },
      ready: () => httpOk(`http://127.0.0.1:${mm}/readyz`),
    }),
  ]);
});

afterAll(async () => {
  clients.forEach((c) => c.close());
  await Promise.all([storage?.stop(), metadata?.stop()]);
  await db?.drop();
  if (mediaDir) rmSync(mediaDir, { recursive: true, force: true });
});

describe("storage", () => {
  const sessionId = crypto.randomUUID();
  const ref = { sessionId, kind: BlobKind.BLOB_KIND_FRAME, index: 0, mediaType: "image/jpeg" };
  const data = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);
  const stored = () => join(mediaDir, sessionId, "frames", "frame_0.jpg");

  const put = (client: StorageServiceClient, index: number) =>
    new Promise<PutBlobsResponse | grpc.ServiceError>((resolve) => {
      const stream = client.putBlobs();
      stream.on("data", (res: PutBlobsResponse) => (resolve(res), stream.end()));
      stream.on("error", (err: grpc.ServiceError) => resolve(err));
      stream.write({ items: [{ requestId: 1, ref: { ...ref, index }, data, sha256Hex: sha256Hex(data) }] });
    });

  test("DeleteBlob and PutBlobs without / with a wrong token: UNAUTHENTICATED, nothing deleted or written", async () => {
    const { good, refused } = callers(StorageServiceClient, storageAddr);
    const created = (await put(good, 0)) as PutBlobsResponse;
    expect(created.results[0]?.outcome).toBe(WriteOutcome.WRITE_OUTCOME_CREATED);
    expect(existsSync(stored())).toBe(true);

    for (const [name, client] of refused) {
      const { err } = await unary((cb) => client.deleteBlob({ ref }, cb));
      expectRefused(err);
      expect(existsSync(stored()), name).toBe(true);
      const streamErr = (await put(client, 1)) as grpc.ServiceError;
      expectRefused(streamErr);
      expect(existsSync(join(mediaDir, sessionId, "frames", "frame_1.jpg")), name).toBe(false);
    }
    const head = await unary<HeadBlobResponse>((cb) => good.headBlob({ ref }, cb));
    expect(head.err).toBeNull();
    expect(head.res.exists).toBe(true);
  });
});

describe("metadata", () => {
  test("CompleteSession, OpenSession and the lease calls without / with a wrong token: UNAUTHENTICATED, nothing changed", async () => {
    const { good, refused } = callers(MetadataServiceClient, metadataAddr);
    const sessionId = crypto.randomUUID();
    const open = { sessionId, interviewSessionId: 0, hasInterviewSessionId: false, userId: 0, hasUserId: false, storagePath: sessionId, ownerInstance: "gw-1" };
    expect((await unary((cb) => good.openSession(open, cb))).err).toBeNull();

    for (const [, client] of refused) {
      expectRefused((await unary((cb) => client.completeSession({ sessionId, totalChunks: 0, totalFrames: 0, ownerEpoch: 1 }, cb))).err);
      const other = crypto.randomUUID();
      expectRefused((await unary((cb) => client.openSession({ ...open, sessionId: other, storagePath: other }, cb))).err);
      const missing = await unary((cb) => good.getSessionStatus({ sessionId: other }, cb));
      expect(missing.err?.code).toBe(grpc.status.NOT_FOUND);
      // The lease calls too: nobody without the token releases or renews a gateway's leases.
      expectRefused((await unary((cb) => client.releaseSession({ sessionId, ownerEpoch: 1, ownerInstance: "gw-1" }, cb))).err);
      expectRefused((await unary((cb) => client.renewLeases({ ownerInstance: "gw-evil", leases: [{ sessionId, ownerEpoch: 1 }] }, cb))).err);
    }
    const status = await unary<GetSessionStatusResponse>((cb) => good.getSessionStatus({ sessionId }, cb));
    expect(status.err).toBeNull();
    expect(status.res.session?.status).toBe(SessionStatus.SESSION_STATUS_ACTIVE);
    // Still held by gw-1: the refused release changed nothing.
    expect(status.res.session).toMatchObject({ isConnected: true, ownerEpoch: 1 });
  });
});

test("grpc.health.v1 answers without a token on both services", async () => {
  for (const addr of [storageAddr, metadataAddr]) {
    const h = healthClient(addr);
    try {
      expect(await checkHealth(h, 3000)).toBe(true);
    } finally {
      h.close();
    }
  }
});

test("neither the token nor a wrong guess reaches a log line", () => {
  const out = storage.output() + metadata.output();
  expect(out.length).toBeGreaterThan(0);
  expect(out).not.toContain(TEST_INTERNAL_TOKEN);
});

test("a service without CANDID_INTERNAL_TOKEN, or with a short one, refuses to start (exit 2)", async () => {
  for (const token of ["", "too-short"]) {
    const grpcPort = await freePort();
    const started = startService({
      name: "storage-no-token",
      entry: "services/storage/main.ts",
      env: { CANDID_INTERNAL_TOKEN: token, STORAGE_BACKEND: "fs", MEDIA_STORAGE_DIR: mediaDir, STORAGE_GRPC_ADDR: `127.0.0.1:${grpcPort}`, STORAGE_METRICS_PORT: "0" },
      ready: async () => false,
      timeoutMs: 15_000,
    });
    const err = await started.then(() => null, (e: Error) => e);
    expect(err?.message).toContain("exited with 2");
    expect(err?.message).toContain("CANDID_INTERNAL_TOKEN");
    if (token) expect(err?.message).not.toContain(token);
  }
});
