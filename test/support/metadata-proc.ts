/**
 * A metadata service process for tests, and helpers to call it: its own gRPC port and ops port,
 * the internal token, RecordBlobs items with plausible fields.
 */
import { expect } from "bun:test";
import type * as grpc from "@grpc/grpc-js";
import { WriteOutcome } from "../../proto/gen/media/v1/common";
import { MetadataServiceClient, type BlobRecord, type OpenSessionRequest, type RecordBlobsResponse, type RecordResult } from "../../proto/gen/media/v1/metadata";
import { AppError } from "../../services/shared/errors";
import { fromGrpcError, internalClient } from "../../services/shared/grpc";
import { freePort, httpOk, startService, type ServiceProc, TEST_INTERNAL_TOKEN } from "./procs";

export interface Running {
  svc: ServiceProc;
  client: MetadataServiceClient;
  grpcPort: number;
  metricsPort: number;
  stop(): Promise<void>;
}

export async function startMetadata(env: Record<string, string>, timeoutMs = 30_000): Promise<Running> {
  const grpcPort = await freePort();
  const metricsPort = await freePort();
  const svc = await startService({
    name: "metadata",
    entry: "services/metadata/main.ts",
    env: { METADATA_GRPC_ADDR: `127.0.0.1:${grpcPort}`, METADATA_METRICS_PORT: String(metricsPort), LOG_LEVEL: "info", ...env },
    ready: () => httpOk(`http://127.0.0.1:${metricsPort}/readyz`),
    timeoutMs,
  });
  const client = internalClient(MetadataServiceClient, `127.0.0.1:${grpcPort}`, TEST_INTERNAL_TOKEN);
  return {
    svc,
    client,
    grpcPort,
    metricsPort,
    async stop() {
      client.close();
      const code = await svc.stop();
      expect(code).toBe(0);
    },
  };
}

export type Cb<Res> = (err: grpc.ServiceError | null, res?: Res) => void;
export function call<Res>(fn: (cb: Cb<Res>) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => fn((err, res) => (err ? reject(fromGrpcError(err)) : resolve(res as Res))));
}

export async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof AppError ? e.code : `not an AppError: ${String(e)}`;
  }
  return "no error";
}

let nextRequestId = 1;
export type Item = NonNullable<BlobRecord["item"]>;

/**
 * Sends every item on one RecordBlobs stream, half-closes, returns the answers in item order. The
 * first item travels alone, the rest together in a second message: both shapes are exercised.
 */
export function record(client: MetadataServiceClient, items: Item[]): Promise<RecordResult[]> {
  return new Promise((resolve, reject) => {
    const stream = client.recordBlobs();
    const ids = items.map(() => nextRequestId++);
    const answers = new Map<number, RecordResult>();
    stream.on("data", (res: RecordBlobsResponse) => {
      for (const r of res.results) answers.set(r.requestId, r);
    });
    stream.on("error", reject);
    stream.on("end", () => {
      if (answers.size !== items.length) reject(new Error(`got ${answers.size} answers for ${items.length} items`));
      else resolve(ids.map((id) => answers.get(id)!));
    });
    const records = items.map((item, i) => ({ requestId: ids[i]!, item }));
    if (records.length) stream.write({ items: records.slice(0, 1) });
    if (records.length > 1) stream.write({ items: records.slice(1) });
    stream.end();
  });
}

export function sha(n: number): string {
  return new Bun.CryptoHasher("sha256").update(`blob-${n}`).digest("hex");
}
export function audio(sessionId: string, chunkIndex: number, shaSeed = chunkIndex, ownerEpoch = 1): Item {
  return {
    $case: "audio",
    value: {
      sessionId,
      chunkIndex,
      filePath: `/media_storage/${sessionId}/audio/chunk_${chunkIndex}.webm`,
      fileSize: 1000 + chunkIndex,
      mimeType: "audio/webm",
      startTimestampMs: 1_700_000_000_000 + chunkIndex * 10_000,
      endTimestampMs: 1_700_000_010_000 + chunkIndex * 10_000,
      durationMs: 10_000,
      sha256Hex: sha(shaSeed),
      ownerEpoch,
    },
  };
}
export function frame(sessionId: string, frameIndex: number, chunkIndex: number, shaSeed = 1000 + frameIndex, ownerEpoch = 1): Item {
  return {
    $case: "frame",
    value: {
      sessionId,
      frameIndex,
      chunkIndex,
      filePath: `/media_storage/${sessionId}/frames/frame_${frameIndex}.jpg`,
      fileSize: 9000,
      mimeType: "image/jpeg",
      timestampMs: 1_700_000_000_000 + frameIndex * 2000,
      offsetMs: (frameIndex * 2000) % 10_000,
      sha256Hex: sha(shaSeed),
      ownerEpoch,
    },
  };
}
export function outcomes(rs: RecordResult[]): string[] {
  return rs.map((r) => (r.error ? r.error.code : WriteOutcome[r.outcome]!.replace("WRITE_OUTCOME_", "")));
}
export function openReq(sessionId: string, extra: Partial<OpenSessionRequest> = {}): OpenSessionRequest {
  return { sessionId, interviewSessionId: 0, hasInterviewSessionId: false, userId: 0, hasUserId: false, storagePath: `/media_storage/${sessionId}`, ownerInstance: "gw-1", ...extra };
}

