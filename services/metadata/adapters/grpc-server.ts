/**
 * @module metadata/adapters/grpc-server
 * media.v1.MetadataService over grpc-js. Unary calls map 1:1 onto SessionRepo methods through
 * `unary()` (errors -> gRPC status + candid-error-code trailer, shared/grpc.ts).
 *
 * RecordBlobs (the hot path) is a bidirectional stream whose messages carry one or more records
 * (shared/item-stream.ts). Each record is handed to ONE LanedCommitter shared by all streams of
 * the process: `maxInflight` lanes, a session always in the same lane, each lane running one
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
} from "../../../proto/gen/media/v1/metadata";
import { serveItemStream } from "../../shared/item-stream";
import { WriteOutcome } from "../../../proto/gen/media/v1/common";
import { AppError, toAppError } from "../../shared/errors";
import { toItemError, unary, type GrpcService } from "../../shared/grpc";
import type { Logger } from "../../shared/log";
import { BATCH_BUCKETS, Counter, Histogram, LATENCY_BUCKETS_SECONDS, type Registry } from "../../shared/metrics";
import { LanedCommitter } from "../core/group-commit";
import type { BlobItem, ItemResult, OutcomeName, SessionRepo } from "../core/model";

const OUTCOME_TO_PROTO: Record<OutcomeName, WriteOutcome> = {
  CREATED: WriteOutcome.WRITE_OUTCOME_CREATED,
  IDENTICAL: WriteOutcome.WRITE_OUTCOME_IDENTICAL,
  CONFLICT: WriteOutcome.WRITE_OUTCOME_CONFLICT,
};

/** AbandonIdleSessions limit when the request says 0. */
export const DEFAULT_ABANDON_LIMIT = 1000;

export interface MetadataGrpcOptions {
  repo: SessionRepo;
  log: Logger;
  registry: Registry;
  /** Items per transaction at most (default 128). */
  maxBatch?: number;
  /** RecordBlobs transactions running at once (default 4; 1 for PGlite). */
  maxInflight?: number;
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

export function createMetadataGrpc(opts: MetadataGrpcOptions): MetadataGrpc {
  const { repo, log, registry } = opts;
  const maxStreamPending = opts.maxStreamPending ?? 2048;

  const records = new Counter({
    name: "candid_metadata_records_total",
    help: "RecordBlobs items answered, by kind (audio|frame|unknown) and outcome (created|identical|conflict|error).",
    labelNames: ["kind", "outcome"] as const,
    registers: [registry],
  });
  const batchSize = new Histogram({
    name: "candid_metadata_batch_size",
    help: "RecordBlobs items per database transaction (group commit).",
    buckets: BATCH_BUCKETS,
    registers: [registry],
  });
  const commitDuration = new Histogram({
    name: "candid_metadata_commit_duration_seconds",
    help: "Duration of one RecordBlobs batch transaction, in seconds.",
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  const errors = new Counter({
    name: "candid_metadata_errors_total",
    help: "Errors answered by the metadata service (per item on RecordBlobs, per call otherwise), by error code.",
    labelNames: ["code"] as const,
    registers: [registry],
  });

  const committer = new LanedCommitter<BlobItem, ItemResult>({
    lanes: opts.maxInflight ?? 4,
    maxBatch: opts.maxBatch ?? 128,
    keyOf: (item) => item.record.sessionId,
    commit: (items) => repo.recordBlobs(items),
    onBatch: (size, seconds) => {
      batchSize.observe(size);
      commitDuration.observe(seconds);
    },
  });

  /** Counts the error code, then lets unary() map and log it. */
  function counted<Req, Res>(fn: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return unary(log, async (req: Req) => {
      try {
        return await fn(req);
      } catch (err) {
        errors.inc({ code: toAppError(err).code });
        throw err;
      }
    });
  }

  function answer(requestId: number, kind: string, result: ItemResult): RecordResult {
    if ("outcome" in result) {
      records.inc({ kind, outcome: result.outcome.toLowerCase() });
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
    createInterviewSession: counted(async (req) => ({ interviewSessionId: await repo.createInterviewSession(req.title) })),
    openSession: counted(async (req) =>
      repo.openSession({
        sessionId: req.sessionId,
        interviewSessionId: req.hasInterviewSessionId ? req.interviewSessionId : undefined,
        userId: req.hasUserId ? req.userId : undefined,
        storagePath: req.storagePath,
      }),
    ),
    recordBlobs,
    completeSession: counted(async (req) => repo.completeSession(req.sessionId, req.totalChunks, req.totalFrames)),
    getSessionStatus: counted(async (req) => ({ session: await repo.getSessionStatus(req.sessionId) })),
    abandonIdleSessions: counted(async (req) => ({
      sessionIds: await repo.abandonIdleSessions(req.idleMs, req.limit === 0 ? DEFAULT_ABANDON_LIMIT : req.limit),
    })),
  };

  return {
    service: { definition: MetadataServiceService, implementation },
    idle: () => committer.idle(),
  };
}
