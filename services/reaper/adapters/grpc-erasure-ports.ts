/**
 * @module grpc-erasure-ports
 * The erasure worker's ports (core/erasure.ts ErasurePorts) on the two services' unary RPCs:
 *   claim / listSessions / progress / deleteSessionRows / finish / enqueueExpired
 *               -> media.v1.RetentionService (metadata), each call under its claim (worker, attempt)
 *   listBlobs   -> StorageService.ListBlobs({sessionId, pageToken, pageSize}): that session's blobs only
 *   deleteBlob  -> StorageService.DeleteBlob({ref}) without unmodified_since: whatever is stored goes
 * Works the same on the fs and S3 backends: storage owns the layout. Each call has a deadline and
 * is cancelled when the signal aborts (SIGTERM). gRPC failures become AppError here, once.
 */
import * as grpc from "@grpc/grpc-js";
import { BlobKind } from "../../../proto/gen/media/v1/common";
import { ErasureReason, type RetentionServiceClient } from "../../../proto/gen/media/v1/retention";
import type { StorageServiceClient } from "../../../proto/gen/media/v1/storage";
import type { StoredKind } from "../../shared/blob";
import { fromGrpcError } from "../../shared/grpc";
import type { ClaimedErasure, ErasurePorts, SessionBlob } from "../core/erasure";

const KIND_TO_PROTO: Record<StoredKind, BlobKind> = { audio: BlobKind.BLOB_KIND_AUDIO, frame: BlobKind.BLOB_KIND_FRAME, manifest: BlobKind.BLOB_KIND_MANIFEST };
const KIND_OF: Partial<Record<BlobKind, StoredKind>> = {
  [BlobKind.BLOB_KIND_AUDIO]: "audio",
  [BlobKind.BLOB_KIND_FRAME]: "frame",
  [BlobKind.BLOB_KIND_MANIFEST]: "manifest",
};

type UnaryFn<Req, Res> = (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res: Res) => void) => grpc.ClientUnaryCall;

function call<Req, Res>(fn: UnaryFn<Req, Res>, req: Req, timeoutMs: number, signal: AbortSignal): Promise<Res> {
  return new Promise((resolve, reject) => {
    const c = fn(req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
      signal.removeEventListener("abort", cancel);
      if (err) reject(fromGrpcError(err));
      else resolve(res);
    });
    const cancel = () => c.cancel();
    if (signal.aborted) cancel();
    else signal.addEventListener("abort", cancel, { once: true });
  });
}

export interface ErasurePortOptions {
  /** This reaper's claim name (unique per process). */
  worker: string;
  /** REAPER_ERASURE_LEASE_MS: how long a claim holds without progress. */
  leaseMs: number;
  /** CANDID_RETENTION_DAYS (0: off). */
  defaultRetentionDays: number;
  callTimeoutMs: number;
}

export function grpcErasurePorts(storage: StorageServiceClient, retention: RetentionServiceClient, opts: ErasurePortOptions): ErasurePorts {
  const t = opts.callTimeoutMs;
  const claimOf = (e: ClaimedErasure) => ({ erasureId: e.erasureId, worker: opts.worker, attempt: e.attempt });
  return {
    async claim(limit, signal) {
      const res = await call(retention.claimErasures.bind(retention), { worker: opts.worker, limit, leaseMs: opts.leaseMs }, t, signal);
      return res.erasures.map((e) => ({
        erasureId: e.erasureId,
        interviewSessionId: e.interviewSessionId,
        reason: e.reason === ErasureReason.ERASURE_REASON_RETENTION ? "retention" : "request",
        attempt: e.attempt,
      }));
    },
    async listSessions(e, signal) {
      return (await call(retention.listErasureSessions.bind(retention), { claim: claimOf(e) }, t, signal)).sessionIds;
    },
    async listBlobs(sessionId, pageToken, pageSize, signal) {
      const res = await call(storage.listBlobs.bind(storage), { sessionId, pageToken, pageSize }, t, signal);
      const blobs: SessionBlob[] = res.blobs.flatMap((b) => {
        const kind = b.ref ? KIND_OF[b.ref.kind] : undefined;
        if (!b.ref || !kind) return [];
        return [{ ref: { sessionId: b.ref.sessionId, kind, index: b.ref.index, mediaType: b.ref.mediaType }, size: b.size }];
      });
      return { blobs, next: res.nextPageToken };
    },
    async deleteBlob(ref, signal) {
      const pb = { sessionId: ref.sessionId, kind: KIND_TO_PROTO[ref.kind], index: ref.index, mediaType: ref.mediaType };
      return (await call(storage.deleteBlob.bind(storage), { ref: pb }, t, signal)).deleted;
    },
    async progress(e, blobs, bytes, signal) {
      await call(retention.recordErasureProgress.bind(retention), { claim: claimOf(e), blobsDeleted: blobs, blobBytesDeleted: bytes, leaseMs: opts.leaseMs }, t, signal);
    },
    async deleteSessionRows(e, sessionId, signal) {
      return call(retention.deleteErasedSessionRows.bind(retention), { claim: claimOf(e), sessionId }, t, signal);
    },
    async finish(e, signal) {
      const res = await call(retention.finishErasure.bind(retention), { claim: claimOf(e) }, t, signal);
      return { finished: res.finished, remaining: res.remainingSessions };
    },
    async enqueueExpired(limit, signal) {
      const res = await call(retention.enqueueExpiredErasures.bind(retention), { defaultRetentionDays: opts.defaultRetentionDays, limit }, t, signal);
      return res.erasures.map((e) => ({ erasureId: e.erasureId, interviewSessionId: e.interviewSessionId }));
    },
  };
}
