/**
 * @module metadata/metrics
 * The metadata service's Prometheus metrics: the one place they are declared (the gRPC server
 * and its group committer feed them).
 */
import type { ErrorCode } from "../../shared/errors";
import { BATCH_BUCKETS, LATENCY_BUCKETS_SECONDS, counter, defineMetrics, histogram, labelSets } from "../../shared/metrics";

/** The codes the metadata service answers with (core refusals, fencing, the database, the internal token check). */
export const METADATA_ERROR_CODES: readonly ErrorCode[] = [
  "INVALID_MESSAGE", "INVALID_SESSION_ID", "SESSION_NOT_FOUND", "SESSION_MISMATCH", "SESSION_COMPLETED", "SESSION_TAKEN_OVER",
  "INTERVIEW_SESSION_NOT_FOUND", "UPSTREAM_UNAVAILABLE", "INTERNAL_TOKEN_INVALID", "INTERNAL",
];

export const metadataMetrics = defineMetrics("metadata", {
  records: counter(
    "candid_metadata_records_total",
    "RecordBlobs items answered, by kind (audio|frame|unknown) and outcome (created|identical|conflict|error).",
    { labelNames: ["kind", "outcome"], initial: labelSets({ kind: ["audio", "frame", "unknown"], outcome: ["created", "identical", "conflict", "error"] }) },
  ),
  /** Items, not bytes: a count needs no unit suffix. */
  batchSize: histogram("candid_metadata_batch_size", "RecordBlobs items per database transaction (group commit).", { buckets: BATCH_BUCKETS }),
  commitDuration: histogram("candid_metadata_commit_duration_seconds", "Duration of one RecordBlobs batch transaction, in seconds.", {
    buckets: LATENCY_BUCKETS_SECONDS,
  }),
  errors: counter(
    "candid_metadata_errors_total",
    "Errors answered by the metadata service (per item on RecordBlobs, per call otherwise), by error code.",
    { labelNames: ["code"], initial: labelSets({ code: METADATA_ERROR_CODES }) },
  ),
});

export type MetadataMetrics = ReturnType<typeof metadataMetrics>;
