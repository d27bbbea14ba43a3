/**
 * @module metadata/adapters/retention-grpc
 * media.v1.RetentionService over grpc-js, on top of core/retention.ts. The core's words are
 * translated here, once: reason / state names <-> ERASURE_REASON_* / ERASURE_STATE_*, null
 * retention <-> an unset optional field. Errors travel as everywhere (status + candid-error-code
 * trailer, through countedUnary).
 */
import {
  type Erasure,
  ErasureReason,
  ErasureState,
  RetentionServiceService,
  type RetentionServiceServer,
} from "../../../proto/gen/media/v1/retention";
import type { GrpcService } from "../../shared/grpc";
import type { Logger } from "../../shared/log";
import type { ErasureReason as CoreReason, ErasureRecord, ErasureState as CoreState, Retention } from "../core/retention";
import { countedUnary } from "./grpc-server";
import type { MetadataMetrics } from "./metrics";

const REASON: Record<CoreReason, ErasureReason> = {
  request: ErasureReason.ERASURE_REASON_REQUEST,
  retention: ErasureReason.ERASURE_REASON_RETENTION,
};

const STATE: Record<CoreState, ErasureState> = {
  pending: ErasureState.ERASURE_STATE_PENDING,
  running: ErasureState.ERASURE_STATE_RUNNING,
  done: ErasureState.ERASURE_STATE_DONE,
};

export function toErasureProto(e: ErasureRecord): Erasure {
  return {
    erasureId: e.erasureId,
    interviewSessionId: e.interviewSessionId,
    reason: REASON[e.reason],
    state: STATE[e.state],
    requestedAtMs: e.requestedAtMs,
    finishedAtMs: e.finishedAtMs,
    requestedByKeyId: e.requestedByKeyId,
    mediaSessionsDeleted: e.mediaSessionsDeleted,
    blobsDeleted: e.blobsDeleted,
    blobBytesDeleted: e.blobBytesDeleted,
    rowsDeleted: e.rowsDeleted,
  };
}

export function createRetentionGrpc(opts: { retention: Retention; log: Logger; metrics: MetadataMetrics }): GrpcService {
  const { retention } = opts;
  const counted = countedUnary(opts.log, opts.metrics.errors);
  const implementation: RetentionServiceServer = {
    setLegalHold: counted(async (req) => ({ interviewSessionId: req.interviewSessionId, legalHold: await retention.setLegalHold(req.interviewSessionId, req.hold) })),
    setRetention: counted(async (req) => {
      const days = await retention.setRetention(req.interviewSessionId, req.retentionDays ?? null);
      return { interviewSessionId: req.interviewSessionId, retentionDays: days ?? undefined };
    }),
    requestErasure: counted(async (req) => {
      const r = await retention.requestErasure(req.interviewSessionId, req.requestedByKeyId);
      return { erasure: toErasureProto(r.erasure), created: r.created };
    }),
    claimErasures: counted(async (req) => ({
      erasures: (await retention.claim({ worker: req.worker, limit: req.limit, leaseMs: req.leaseMs })).map((e) => ({
        erasureId: e.erasureId,
        interviewSessionId: e.interviewSessionId,
        reason: REASON[e.reason],
        attempt: e.attempt,
      })),
    })),
    listErasureSessions: counted(async (req) => ({ sessionIds: await retention.listSessions(req.claim) })),
    recordErasureProgress: counted(async (req) => {
      await retention.progress(req.claim, req.blobsDeleted, req.blobBytesDeleted, req.leaseMs);
      return {};
    }),
    deleteErasedSessionRows: counted(async (req) => retention.deleteSessionRows(req.claim, req.sessionId)),
    finishErasure: counted(async (req) => {
      const r = await retention.finish(req.claim);
      return { finished: r.finished, remainingSessions: r.remaining, erasure: toErasureProto(r.erasure) };
    }),
    enqueueExpiredErasures: counted(async (req) => ({
      erasures: (await retention.enqueueExpired(req.defaultRetentionDays, req.limit)).map(toErasureProto),
    })),
  };
  return { definition: RetentionServiceService, implementation };
}
