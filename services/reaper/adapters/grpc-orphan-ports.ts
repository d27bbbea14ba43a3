/**
 * @module grpc-orphan-ports
 * The orphan sweeper's ports (core/orphan-sweep.ts OrphanPorts) on the two services' unary RPCs:
 *   listBlobs  -> StorageService.ListBlobs({pageToken, pageSize}) (every session)
 *   lookupRows -> MetadataService.LookupBlobRows({keys}): one query for the whole page
 *   deleteBlob -> StorageService.DeleteBlob({ref, unmodifiedSinceMs}): the listed mtime, so a
 *                 blob re-created since the listing is kept
 * Each call has a deadline and is cancelled when the sweep's signal aborts (SIGTERM). gRPC
 * failures become AppError here, once (fromGrpcError: UPSTREAM_UNAVAILABLE / the service's code).
 */
import * as grpc from "@grpc/grpc-js";
import { BlobKind } from "../../../proto/gen/media/v1/common";
import type { MetadataServiceClient } from "../../../proto/gen/media/v1/metadata";
import type { ListedBlob as PbListedBlob, StorageServiceClient } from "../../../proto/gen/media/v1/storage";
import type { BlobKind as CoreKind, BlobRef as StoredRef } from "../../shared/blob";

type BlobRef = StoredRef & { kind: CoreKind };
import { fromGrpcError } from "../../shared/grpc";
import type { ListedBlob, OrphanPorts } from "../core/orphan-sweep";

const TO_PROTO: Record<CoreKind, BlobKind> = { audio: BlobKind.BLOB_KIND_AUDIO, frame: BlobKind.BLOB_KIND_FRAME };

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

function pbRef(ref: BlobRef) {
  return { sessionId: ref.sessionId, kind: TO_PROTO[ref.kind], index: ref.index, mediaType: ref.mediaType };
}

function toListed(b: PbListedBlob): ListedBlob | null {
  const kind: CoreKind | null = b.ref?.kind === BlobKind.BLOB_KIND_AUDIO ? "audio" : b.ref?.kind === BlobKind.BLOB_KIND_FRAME ? "frame" : null;
  if (!b.ref || !kind) return null;
  return { ref: { sessionId: b.ref.sessionId, kind, index: b.ref.index, mediaType: b.ref.mediaType }, key: b.key, size: b.size, modifiedAtMs: b.modifiedAtMs };
}

export function grpcOrphanPorts(storage: StorageServiceClient, metadata: MetadataServiceClient, opts: { callTimeoutMs: number }): OrphanPorts {
  const t = opts.callTimeoutMs;
  return {
    async listBlobs(pageToken, pageSize, signal) {
      const res = await call(storage.listBlobs.bind(storage), { sessionId: "", pageToken, pageSize }, t, signal);
      return { blobs: res.blobs.flatMap((b) => toListed(b) ?? []), next: res.nextPageToken };
    },
    async lookupRows(refs, signal) {
      const keys = refs.map((r) => ({ sessionId: r.sessionId, kind: TO_PROTO[r.kind], index: r.index }));
      const res = await call(metadata.lookupBlobRows.bind(metadata), { keys }, t, signal);
      return res.rows.map((r) => (r.exists ? r.filePath : null));
    },
    async deleteBlob(ref, unmodifiedSinceMs, signal) {
      const res = await call(storage.deleteBlob.bind(storage), { ref: pbRef(ref), unmodifiedSinceMs }, t, signal);
      return res.deleted;
    },
  };
}
