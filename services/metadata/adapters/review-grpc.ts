/**
 * @module metadata/adapters/review-grpc
 * media.v1.ReviewService over grpc-js, on top of core/review.ts; errors travel as everywhere
 * (status + candid-error-code trailer, through countedUnary).
 */
import { ReviewServiceService, type ReviewServiceServer } from "../../../proto/gen/media/v1/review";
import type { GrpcService } from "../../shared/grpc";
import type { Logger } from "../../shared/log";
import type { Review } from "../core/review";
import { countedUnary } from "./grpc-server";
import type { MetadataMetrics } from "./metrics";

export function createReviewGrpc(opts: { review: Review; log: Logger; metrics: MetadataMetrics }): GrpcService {
  const { review } = opts;
  const counted = countedUnary(opts.log, opts.metrics.errors);
  const implementation: ReviewServiceServer = {
    listInterviews: counted(async (req) => review.listInterviews({ limit: req.limit, beforeId: req.beforeId, onlyId: req.onlyInterviewSessionId })),
    getInterview: counted(async (req) => review.getInterview(req.interviewSessionId)),
    listSessionItems: counted(async (req) => review.sessionItems({ sessionId: req.sessionId, chunksAfter: req.chunksAfter, framesAfter: req.framesAfter, limit: req.limit })),
    sealSession: counted(async (req) => review.seal(req.sessionId, req.manifestSha256)),
  };
  return { definition: ReviewServiceService, implementation };
}
