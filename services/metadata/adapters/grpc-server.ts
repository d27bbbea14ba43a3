/**
 * @module metadata/adapters/grpc-server
 * media.v1.MetadataService over grpc-js, on top of the core (core/metadata.ts). Unary calls map
 * 1:1 onto its methods through `unary()` (errors -> gRPC status + candid-error-code trailer,
 * shared/grpc.ts). The core's words are translated here, once: WriteOutcome -> WRITE_OUTCOME_*,
 * the status name -> SessionStatus, null ids -> 0 (with has_* false).
 *
 * RecordBlobs (the hot path) is a bidirectional stream whose messages carry one or more records
 * (shared/item-stream.ts). Each record is handed to ONE LanedCommitter shared by all streams of
 * the process: `recordLanes` lanes, a session always in the same lane, each lane running one
 * transaction at a time and cutting batches of up to `maxBatch` items (or whatever arrived by the
 * next event-loop turn). Lanes never share a session, so concurrent transactions never wait on
 * each other's session row locks. The answer `{requestId, outcome}` or `{requestId, error}` is
 * written only after that item's transaction committed; the answers of one transaction travel in
 * one message. Answers may come back in another order than the requests: clients match them by
 * request_id. Item errors never end the stream. When the client half-closes, the stream ends once
 * every item it sent has been answered. A stream with more than `maxStreamPending` unanswered
 * items stops reading (grpc-js pause) until half are answered.
 */
import type * as grpc from "@grpc/grpc-js";
import {
  type BlobRecord,
  MetadataServiceService,
  type MetadataServiceServer,
  type RecordBlobsRequest,
  type RecordBlobsResponse,
  type RecordResult,
  type SessionInfo,
  SessionStatus,
  type StoredRanges as StoredRangesProto,
} from "../../../proto/gen/media/v1/metadata";
import { serveItemStream } from "../../shared/item-stream";
import { BlobKind, WriteOutcome } from "../../../proto/gen/media/v1/common";
import { AppError, toAppError } from "../../shared/errors";
import { toItemError, unary, type GrpcService } from "../../shared/grpc";
import type { Logger } from "../../shared/log";
import type { WriteOutcome as CoreOutcome } from "../../shared/blob";
import { LanedCommitter } from "../core/group-commit";
import type { Analysis } from "../core/analysis";
import type { Metadata } from "../core/metadata";
import type { BlobItem, BlobKindName, IndexRange, ItemResult, Session, SessionStatusName, StoredRanges } from "../core/model";
import type { MetadataMetrics } from "./metrics";

const OUTCOME_TO_PROTO: Record<CoreOutcome, WriteOutcome> = {
  created: WriteOutcome.WRITE_OUTCOME_CREATED,
  identical: WriteOutcome.WRITE_OUTCOME_IDENTICAL,
  conflict: WriteOutcome.WRITE_OUTCOME_CONFLICT,
};

const STATUS_TO_PROTO: Record<SessionStatusName, SessionStatus> = {
  active: SessionStatus.SESSION_STATUS_ACTIVE,
  completed: SessionStatus.SESSION_STATUS_COMPLETED,
  abandoned: SessionStatus.SESSION_STATUS_ABANDONED,
};

/** Core Session -> wire SessionInfo (0 = unset, as the proto documents). */
export function toSessionInfo(s: Session): SessionInfo {
  return {
    sessionId: s.sessionId,
    status: STATUS_TO_PROTO[s.status],
    totalChunks: s.totalChunks,
    totalFrames: s.totalFrames,
    startedAtMs: s.startedAtMs,
    lastActivityMs: s.lastActivityMs,
    completedAtMs: s.completedAtMs,
    interviewSessionId: s.interviewSessionId ?? 0,
    userId: s.userId ?? 0,
    hasInterviewSessionId: s.interviewSessionId !== null,
    hasUserId: s.userId !== null,
    isConnected: s.isConnected,
    ownerEpoch: s.ownerEpoch,
  };
}

function kindOf(kind: BlobKind): BlobKindName {
  if (kind === BlobKind.BLOB_KIND_AUDIO) return "audio";
  if (kind === BlobKind.BLOB_KIND_FRAME) return "frame";
  throw new AppError("INVALID_MESSAGE", "kind must be BLOB_KIND_AUDIO or BLOB_KIND_FRAME", { field: "kind" });
}

/** Core StoredRanges ([first, last] pairs) -> wire StoredRanges (IndexRange messages). */
export function toStoredRangesProto(r: StoredRanges): StoredRangesProto {
  const ranges = (list: IndexRange[]) => list.map(([first, last]) => ({ first, last }));
  return { chunks: ranges(r.chunks), frames: ranges(r.frames), chunksTruncated: r.chunksTruncated, framesTruncated: r.framesTruncated };
}

/** AbandonIdleSessions limit when the request says 0. */
export const DEFAULT_ABANDON_LIMIT = 1000;

export interface MetadataGrpcOptions {
  metadata: Metadata;
  /** RecordCaptureEvent's core (the rest of core/analysis.ts is served by analysis-grpc.ts). */
  analysis: Analysis;
  log: Logger;
  metrics: MetadataMetrics;
  /** Items per transaction at most (METADATA_RECORD_MAX_BATCH). */
  maxBatch: number;
  /** RecordBlobs transactions running at once (METADATA_RECORD_LANES; 1 for PGlite). */
  recordLanes: number;
  /** Unanswered items per stream before it stops reading (default 2048). */
  maxStreamPending?: number;
}

export interface MetadataGrpc {
  service: GrpcService;
  /** Resolves when no RecordBlobs batch is queued or running (graceful shutdown). */
  idle(): Promise<void>;
}

export function toBlobItem(req: BlobRecord): BlobItem | null {
  const item = req.item;
  if (item?.$case === "audio") return { kind: "audio", record: item.value };
  if (item?.$case === "frame") return { kind: "frame", record: item.value };
  return null;
}

/** A unary handler that counts its error code (candid_metadata_errors_total), then lets unary() map and log it. */
export function countedUnary(log: Logger, errors: MetadataMetrics["errors"]) {
  return <Req, Res>(fn: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> =>
    unary(log, async (req: Req) => {
      try {
        return await fn(req);
      } catch (err) {
        errors.inc({ code: toAppError(err).code });
        throw err;
      }
    });
}

export function createMetadataGrpc(opts: MetadataGrpcOptions): MetadataGrpc {
  const { metadata, log } = opts;
  const maxStreamPending = opts.maxStreamPending ?? 2048;

  const { records, batchSize, commitDuration, errors } = opts.metrics;

  const committer = new LanedCommitter<BlobItem, ItemResult>({
    lanes: opts.recordLanes,
    maxBatch: opts.maxBatch,
    keyOf: (item) => item.record.sessionId,
    commit: (items) => metadata.recordBlobs(items),
    onBatch: (size, seconds) => {
      batchSize.observe(size);
      commitDuration.observe(seconds);
    },
  });

  const counted = countedUnary(log, errors);

  function answer(requestId: number, kind: string, result: ItemResult): RecordResult {
    if ("outcome" in result) {
      records.inc({ kind, outcome: result.outcome });
      return { requestId, outcome: OUTCOME_TO_PROTO[result.outcome], error: undefined };
    }
    const err = toAppError(result.error);
    records.inc({ kind, outcome: "error" });
    errors.inc({ code: err.code });
    if (err.code === "INTERNAL") log.error("internal error", { requestId, err: err.cause ?? err });
    return {
      requestId,
      outcome: WriteOutcome.WRITE_OUTCOME_UNSPECIFIED,
      error: toItemError(err),
    };
  }

  const recordOne = async (req: BlobRecord): Promise<RecordResult> => {
    const item = toBlobItem(req);
    const kind = item?.kind ?? "unknown";
    const result: ItemResult = item
      ? await committer.submit(item).catch((err: unknown): ItemResult => ({ error: toAppError(err) }))
      : { error: new AppError("INVALID_MESSAGE", "item (audio or frame) is required", { field: "item" }) };
    return answer(req.requestId, kind, result);
  };

  const recordBlobs: grpc.handleBidiStreamingCall<RecordBlobsRequest, RecordBlobsResponse> = (call) =>
    serveItemStream(call, recordOne, { unwrap: (req) => req.items, wrap: (results) => ({ results }), maxInFlight: maxStreamPending, log });

  const implementation: MetadataServiceServer = {
    createInterviewSession: counted(async (req) => ({ interviewSessionId: await metadata.createInterviewSession(req.title, req.retentionDays ?? null) })),
    getInterviewSession: counted(async (req) => {
      const i = await metadata.getInterviewSession(req.interviewSessionId);
      return { interviewSessionId: i.interviewSessionId, title: i.title, createdAtMs: i.createdAtMs, retentionDays: i.retentionDays ?? undefined, legalHold: i.legalHold };
    }),
    openSession: counted(async (req) => {
      const r = await metadata.openSession({
        sessionId: req.sessionId,
        interviewSessionId: req.hasInterviewSessionId ? req.interviewSessionId : undefined,
        userId: req.hasUserId ? req.userId : undefined,
        storagePath: req.storagePath,
        ownerInstance: req.ownerInstance,
      });
      return {
        session: toSessionInfo(r.session),
        resumed: r.resumed,
        stored: r.stored ? toStoredRangesProto(r.stored) : undefined,
        ownerEpoch: r.session.ownerEpoch,
      };
    }),
    renewLeases: counted(async (req) => ({ lostSessionIds: await metadata.renewLeases(req.ownerInstance, req.leases) })),
    releaseSession: counted(async (req) => ({ released: await metadata.releaseSession(req.sessionId, req.ownerEpoch, req.ownerInstance) })),
    recordBlobs,
    completeSession: counted(async (req) => {
      const r = await metadata.completeSession(req.sessionId, req.totalChunks, req.totalFrames, req.ownerEpoch);
      return { session: toSessionInfo(r.session), missingChunkIndices: r.missingChunkIndices, missingFrameIndices: r.missingFrameIndices };
    }),
    getSessionStatus: counted(async (req) => ({ session: toSessionInfo(await metadata.getSessionStatus(req.sessionId)) })),
    abandonIdleSessions: counted(async (req) => ({
      sessionIds: await metadata.abandonIdleSessions(req.idleMs, req.limit === 0 ? DEFAULT_ABANDON_LIMIT : req.limit),
    })),
    lookupBlobRows: counted(async (req) => {
      const keys = req.keys.map((k) => ({ sessionId: k.sessionId, kind: kindOf(k.kind), index: k.index }));
      const paths = await metadata.lookupBlobRows(keys);
      return { rows: paths.map((p) => ({ exists: p !== null, filePath: p ?? "" })) };
    }),
    recordCaptureEvent: counted(async (req) => {
      const outcome = await opts.analysis.recordCaptureEvent({
        sessionId: req.sessionId,
        eventIndex: req.eventIndex,
        kind: req.kind,
        phase: req.phase,
        atMs: req.atMs,
        detailJson: req.detailJson,
        ownerEpoch: req.ownerEpoch,
      });
      return { outcome: OUTCOME_TO_PROTO[outcome] };
    }),
  };

  return {
    service: { definition: MetadataServiceService, implementation },
    idle: () => committer.idle(),
  };
}
