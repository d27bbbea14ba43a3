import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as grpc from "@grpc/grpc-js";
import { BlobKind } from "../../proto/gen/media/v1/common";
import { type PutBlobsResponse, StorageServiceClient, StorageServiceService, type StorageServiceServer } from "../../proto/gen/media/v1/storage";
import { ERROR_CODE_KEY, INTERNAL_AUTH_KEY, type RunningGrpcServer, checkHealth, fromGrpcError, healthClient, internalClient, startGrpcServer } from "./grpc";

const TOKEN = "internal-token-for-tests-0123456789abcdef";
const ref = { sessionId: "00000000-0000-4000-8000-000000000001", kind: BlobKind.BLOB_KIND_AUDIO, index: 0, mediaType: "audio/webm" };

describe("internal token", () => {
  let running: RunningGrpcServer;
  let address: string;
  /** What the handlers saw: a refused call must never reach them. */
  const handled: string[] = [];
  const seenAuth: Array<string | undefined> = [];

  beforeAll(async () => {
    const impl: Partial<StorageServiceServer> = {
      deleteBlob: (call, cb) => {
        handled.push("deleteBlob");
        seenAuth.push(call.metadata.get(INTERNAL_AUTH_KEY)[0] as string | undefined);
        cb(null, { deleted: true });
      },
      putBlobs: (call) => {
        handled.push("putBlobs");
        call.on("data", (req) => call.write({ results: req.items.map((i: { requestId: number }) => ({ requestId: i.requestId, outcome: 1, location: "x" })) }));
        call.on("end", () => call.end());
      },
    };
    running = await startGrpcServer({
      address: "127.0.0.1:0",
      services: [{ definition: StorageServiceService, implementation: impl as grpc.UntypedServiceImplementation }],
      healthy: async () => true,
      internalToken: TOKEN,
    });
    address = `127.0.0.1:${running.port}`;
  });
  afterAll(() => running?.stop(100));

  const deleteBlob = (client: StorageServiceClient) =>
    new Promise<grpc.ServiceError | null>((resolve) => client.deleteBlob({ ref }, (err) => resolve(err)));

  const putOne = (client: StorageServiceClient) =>
    new Promise<PutBlobsResponse | grpc.ServiceError>((resolve) => {
      const stream = client.putBlobs();
      stream.on("data", (res: PutBlobsResponse) => {
        resolve(res);
        stream.end();
      });
      stream.on("error", (err: grpc.ServiceError) => resolve(err));
      stream.write({ items: [{ requestId: 7, ref, data: Buffer.from("x"), sha256Hex: "" }] });
    });

  test("a client made by internalClient carries the token on unary calls and streams", async () => {
    const client = internalClient(StorageServiceClient, address, TOKEN);
    try {
      expect(await deleteBlob(client)).toBeNull();
      expect(seenAuth.at(-1)).toBe(`Bearer ${TOKEN}`);
      const res = await putOne(client);
      expect((res as PutBlobsResponse).results?.[0]?.requestId).toBe(7);
    } finally {
      client.close();
    }
  });

  test.each([
    ["no token", () => new StorageServiceClient(address, grpc.credentials.createInsecure())],
    ["a wrong token", () => internalClient(StorageServiceClient, address, TOKEN.replace("i", "j"))],
    ["a prefix of the token", () => internalClient(StorageServiceClient, address, TOKEN.slice(0, -1))],
  ])("%s: UNAUTHENTICATED with INTERNAL_TOKEN_INVALID, and the handler never runs", async (_name, make) => {
    const client = make();
    const before = handled.length;
    try {
      const err = await deleteBlob(client);
      expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(err?.metadata.get(ERROR_CODE_KEY)).toEqual(["INTERNAL_TOKEN_INVALID"]);
      expect(err?.details).not.toContain(TOKEN);
      const streamErr = (await putOne(client)) as grpc.ServiceError;
      expect(streamErr.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(handled.length).toBe(before);
    } finally {
      client.close();
    }
  });

  test("the token's refusal comes back to the caller as INTERNAL (a misconfiguration, not relayed)", async () => {
    const client = internalClient(StorageServiceClient, address, "w".repeat(32));
    try {
      const e = fromGrpcError(await deleteBlob(client));
      expect(e.code).toBe("INTERNAL");
      expect(e.message).toContain("CANDID_INTERNAL_TOKEN");
    } finally {
      client.close();
    }
  });

  test("grpc.health.v1 stays open without a token", async () => {
    const h = healthClient(address);
    try {
      expect(await checkHealth(h, 2000)).toBe(true);
    } finally {
      h.close();
    }
  });
});
