/**
 * @module metadata/adapters/analysis-grpc
 * media.v1.AnalysisService over grpc-js, on top of core/analysis.ts: the enum and the "unset"
 * spellings of the wire are translated here, once; errors travel as everywhere
 * (shared/grpc.ts unary(): status + candid-error-code trailer).
 */
import { AnalysisKind, AnalysisServiceService, type AnalysisServiceServer, type AnalysisWorkItem } from "../../../proto/gen/media/v1/analysis";
import { AppError } from "../../shared/errors";
import type { GrpcService } from "../../shared/grpc";
import type { Logger } from "../../shared/log";
import type { Analysis, AnalysisKindName, WorkItem } from "../core/analysis";
import { countedUnary } from "./grpc-server";
import type { MetadataMetrics } from "./metrics";

const KIND_TO_PROTO: Record<AnalysisKindName, AnalysisKind> = { audio: AnalysisKind.ANALYSIS_KIND_AUDIO, frame: AnalysisKind.ANALYSIS_KIND_FRAME };

export function analysisKindOf(kind: AnalysisKind): AnalysisKindName {
  if (kind === AnalysisKind.ANALYSIS_KIND_AUDIO) return "audio";
  if (kind === AnalysisKind.ANALYSIS_KIND_FRAME) return "frame";
  throw new AppError("INVALID_MESSAGE", "kind must be ANALYSIS_KIND_AUDIO or ANALYSIS_KIND_FRAME", { field: "kind" });
}

function toProtoItem(i: WorkItem): AnalysisWorkItem {
  return { ...i, kind: KIND_TO_PROTO[i.kind] };
}

export function createAnalysisGrpc(opts: { analysis: Analysis; log: Logger; metrics: MetadataMetrics }): GrpcService {
  const { analysis, log } = opts;
  const counted = countedUnary(log, opts.metrics.errors);
  const implementation: AnalysisServiceServer = {
    claimAnalysisWork: counted(async (req) => {
      const r = await analysis.claim({ worker: req.worker, kinds: req.kinds.map(analysisKindOf), limit: req.limit, leaseMs: req.leaseMs, maxAttempts: req.maxAttempts });
      return { items: r.items.map(toProtoItem), expiredFailed: r.expiredFailed };
    }),
    completeAnalysisWork: counted(async (req) => {
      await analysis.complete({
        worker: req.worker,
        kind: analysisKindOf(req.kind),
        rowId: req.rowId,
        attempt: req.attempt,
        analysisJson: req.analysisJson,
        transcription: req.transcription ?? null,
      });
      return {};
    }),
    failAnalysisWork: counted(async (req) =>
      analysis.fail({
        worker: req.worker,
        kind: analysisKindOf(req.kind),
        rowId: req.rowId,
        attempt: req.attempt,
        reason: req.reason,
        permanent: req.permanent,
        retryAfterMs: req.retryAfterMs,
        maxAttempts: req.maxAttempts,
      }),
    ),
    getSessionAnalysis: counted(async (req) => {
      const p = await analysis.sessionAnalysis(req.sessionId, req.chunksAfter, req.framesAfter, req.limit);
      return {
        chunks: p.chunks.map((c) => ({ ...c, transcription: c.transcription ?? undefined })),
        frames: p.frames,
        moreChunks: p.moreChunks,
        moreFrames: p.moreFrames,
        timing: p.timing,
        frameCounts: p.frameCounts,
        captureEvents: p.captureEvents,
        timelineStartMs: p.timelineStartMs,
      };
    }),
  };
  return { definition: AnalysisServiceService, implementation };
}
