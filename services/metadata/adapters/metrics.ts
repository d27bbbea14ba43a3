/**
 * @module metadata/metrics
 * The metadata service's Prometheus metrics: the one place they are declared (the gRPC server
 * and its group committer feed them).
 */
import { BATCH_BUCKETS, LATENCY_BUCKETS_SECONDS, counter, defineMetrics, histogram } from "../../shared/metrics";

export const metadataMetrics = defineMetrics("metadata", {
  records: counter(
    "candid_metadata_records_total",
    "RecordBlobs items answered, by kind (audio|frame|unknown) and outcome (created|identical|conflict|error).",
    { labelNames: ["kind", "outcome"] },
  ),
  /** Items, not bytes: a count needs no unit suffix. */
  batchSize: histogram("candid_metadata_batch_size", "RecordBlobs items per database transaction (group commit).", { buckets: BATCH_BUCKETS }),
  commitDuration: histogram("candid_metadata_commit_duration_seconds", "Duration of one RecordBlobs batch transaction, in seconds.", {
    buckets: LATENCY_BUCKETS_SECONDS,
  }),
  errors: counter(
    "candid_metadata_errors_total",
    "Errors answered by the metadata service (per item on RecordBlobs, per call otherwise), by error code.",
    { labelNames: ["code"] },
  ),
});

export type MetadataMetrics = ReturnType<typeof metadataMetrics>;
