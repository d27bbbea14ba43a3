/**
 * @module grpc-server
 * media.v1.StorageService over gRPC, on top of the storage core (core/blob-store.ts: putBlob and
 * its siblings over a BlobStore backend). Transport only: validation, checksums and outcomes live
 * in core/ and the backends; the core's words (WriteOutcome, BlobKind) are translated here, once.
 *
 * PutBlobs (the hot path) is a long-lived bidirectional stream (a few per gateway); a message
 * carries one or more puts (shared/item-stream.ts):
 *  - items are processed CONCURRENTLY, up to `maxInFlightPerStream` per stream. When that many
 *    are in flight the stream is paused (call.pause()), so grpc-js stops reading and HTTP/2 flow
 *    control pushes back on the sender; it resumes as items complete;
 *  - each item is answered exactly once, in completion order, with {request_id, outcome,
 *    location} once the blob is durable, or {request_id, error:{code,message}}: a bad item never
 *    ends the stream. Answers of one durable batch travel in one response;
 *  - when the client half-closes, in-flight items finish and are answered, then the server ends.
 * Get/Head/Delete are unary and go through `unary()` (shared/grpc.ts), which maps errors.
 * Logs carry ids, sizes and durations, never bytes.
 */
import type * as grpc from "@grpc/grpc-js";
import { serveItemStream } from "../../shared/item-stream";
import { BlobKind, WriteOutcome } from "../../../proto/gen/media/v1/common";
import type {
  BlobRef as PbBlobRef,
  PutBlob,
  PutBlobsRequest,
  PutBlobsResponse,
  PutResult,
  StorageServiceServer,
} from "../../../proto/gen/media/v1/storage";
import { AppError, toAppError } from "../../shared/errors";
import { toItemError, unary } from "../../shared/grpc";
import type { Logger } from "../../shared/log";
import type { StoredKind as CoreKind, BlobRef, WriteOutcome as CoreOutcome } from "../../shared/blob";
import { type BlobStore, deleteBlob, getBlob, headBlob, listBlobs, putBlob } from "../core/blob-store";
import type { StorageMetrics } from "./metrics";

/** Default bound of concurrently processed items per PutBlobs stream. */
export const DEFAULT_MAX_IN_FLIGHT_PER_STREAM = 64;

/** The one translation of the core's write outcome to the wire. */
const OUTCOMES: Record<CoreOutcome, WriteOutcome> = {
  created: WriteOutcome.WRITE_OUTCOME_CREATED,
  identical: WriteOutcome.WRITE_OUTCOME_IDENTICAL,
  conflict: WriteOutcome.WRITE_OUTCOME_CONFLICT,
};

function kindOf(kind: BlobKind): CoreKind {
  if (kind === BlobKind.BLOB_KIND_AUDIO) return "audio";
  if (kind === BlobKind.BLOB_KIND_FRAME) return "frame";
  if (kind === BlobKind.BLOB_KIND_MANIFEST) return "manifest";
  throw new AppError("INVALID_MESSAGE", "kind must be BLOB_KIND_AUDIO, BLOB_KIND_FRAME or BLOB_KIND_MANIFEST", { field: "kind" });
}

/** Wire BlobRef -> core BlobRef (field presence and enum only; the store validates the rest). */
export function toCoreRef(ref: PbBlobRef | undefined): BlobRef {
  if (!ref) throw new AppError("INVALID_MESSAGE", "ref is required", { field: "ref" });
  return { sessionId: ref.sessionId, kind: kindOf(ref.kind), index: ref.index, mediaType: ref.mediaType };
}

const KIND_TO_PROTO: Record<CoreKind, BlobKind> = { audio: BlobKind.BLOB_KIND_AUDIO, frame: BlobKind.BLOB_KIND_FRAME, manifest: BlobKind.BLOB_KIND_MANIFEST };

function kindLabel(ref: PbBlobRef | undefined): string {
  if (ref?.kind === BlobKind.BLOB_KIND_AUDIO) return "audio";
  if (ref?.kind === BlobKind.BLOB_KIND_FRAME) return "frame";
  if (ref?.kind === BlobKind.BLOB_KIND_MANIFEST) return "manifest";
  return "unknown";
}

export function createStorageServer(opts: {
  store: BlobStore;
  log: Logger;
  metrics: StorageMetrics;
  maxInFlightPerStream?: number;
}): StorageServiceServer {
  const { store, log, metrics } = opts;
  const maxInFlight = Math.max(1, opts.maxInFlightPerStream ?? DEFAULT_MAX_IN_FLIGHT_PER_STREAM);
  let streamSeq = 0;

  /** Errors of one item or call: counted, INTERNAL logged once with its cause, never leaked. */
  function describeError(err: unknown, fields: Record<string, unknown>): AppError {
    const app = toAppError(err);
    metrics.errors.inc({ code: app.code });
    if (app.code === "INTERNAL") log.error("internal error", { ...fields, err: app.cause ?? err });
    return app;
  }

  async function putOne(req: PutBlob, streamId: number): Promise<PutResult> {
    const started = performance.now();
    const kind = kindLabel(req.ref);
    try {
      const ref = toCoreRef(req.ref);
      const r = await putBlob(store, { ref, data: req.data, sha256Hex: req.sha256Hex });
      metrics.puts.inc({ kind, outcome: r.outcome });
      if (r.outcome === "created") metrics.putBytes.inc({ kind }, req.data.byteLength);
      if (r.outcome === "conflict") {
        log.warn("blob conflict: stored blob kept", { streamId, requestId: req.requestId, sessionId: ref.sessionId, kind, index: ref.index, size: req.data.byteLength });
      }
      return { requestId: req.requestId, outcome: OUTCOMES[r.outcome], location: r.location, error: undefined };
    } catch (err) {
      metrics.puts.inc({ kind, outcome: "error" });
      // INTERNAL is logged (once) by describeError; expected refusals (bad ids, checksums) here.
      const app = describeError(err, { streamId, requestId: req.requestId, sessionId: req.ref?.sessionId, kind, index: req.ref?.index, size: req.data.byteLength });
      if (app.code !== "INTERNAL") log.warn("put refused", { streamId, requestId: req.requestId, sessionId: req.ref?.sessionId, kind, code: app.code });
      return {
        requestId: req.requestId,
        outcome: WriteOutcome.WRITE_OUTCOME_UNSPECIFIED,
        location: "",
        error: toItemError(app),
      };
    } finally {
      metrics.putDuration.observe((performance.now() - started) / 1000);
    }
  }

  function putBlobs(call: grpc.ServerDuplexStream<PutBlobsRequest, PutBlobsResponse>): void {
    const streamId = ++streamSeq;
    const opened = performance.now();
    log.info("put stream opened", { streamId });
    serveItemStream(call, (item: PutBlob) => putOne(item, streamId), {
      unwrap: (req) => req.items,
      wrap: (results) => ({ results }),
      maxInFlight,
      log,
      onClose: (why, items) => log.info("put stream closed", { streamId, why, items, durationMs: Math.round(performance.now() - opened) }),
    });
  }

  /** unary() plus error counting. */
  function counted<Req, Res>(name: string, fn: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return unary(log, async (req: Req) => {
      try {
        return await fn(req);
      } catch (err) {
        const app = toAppError(err);
        metrics.errors.inc({ code: app.code });
        if (app.code !== "INTERNAL") log.debug(`${name} refused`, { code: app.code });
        throw err; // unary() maps it (and logs INTERNAL once)
      }
    });
  }

  return {
    putBlobs,
    getBlob: counted("GetBlob", async (req) => {
      const r = await getBlob(store, toCoreRef(req.ref));
      return { data: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength), sha256Hex: r.sha256Hex };
    }),
    headBlob: counted("HeadBlob", async (req) => {
      const h = await headBlob(store, toCoreRef(req.ref));
      return h ? { exists: true, size: h.size, sha256Hex: h.sha256Hex, location: h.location } : { exists: false, size: 0, sha256Hex: "", location: "" };
    }),
    deleteBlob: counted("DeleteBlob", async (req) => {
      const ref = toCoreRef(req.ref);
      const deleted = await deleteBlob(store, ref, { unmodifiedSinceMs: req.unmodifiedSinceMs });
      if (deleted) log.info("blob deleted", { sessionId: ref.sessionId, kind: ref.kind, index: ref.index });
      return { deleted };
    }),
    listBlobs: counted("ListBlobs", async (req) => {
      const page = await listBlobs(store, { sessionId: req.sessionId, pageToken: req.pageToken, pageSize: req.pageSize });
      return {
        blobs: page.blobs.map((b) => ({
          ref: { sessionId: b.at.ref.sessionId, kind: KIND_TO_PROTO[b.at.ref.kind], index: b.at.ref.index, mediaType: b.at.ref.mediaType },
          key: b.at.key,
          size: b.size,
          modifiedAtMs: b.modifiedAtMs,
        })),
        nextPageToken: page.next,
      };
    }),
  };
}
