/**
 * @module storage/metrics
 * The storage service's Prometheus metrics: the one place they are declared (the gRPC server
 * feeds them).
 */
import type { ErrorCode } from "../../shared/errors";
import { LATENCY_BUCKETS_SECONDS, counter, defineMetrics, gauge, histogram, labelSets } from "../../shared/metrics";

/** "unknown": an item whose ref names no kind (refused INVALID_MESSAGE). */
const KINDS = ["audio", "frame", "manifest", "unknown"];
/** The codes the storage service answers with (its gRPC server, the blob stores, the internal token check). */
export const STORAGE_ERROR_CODES: readonly ErrorCode[] = ["INVALID_MESSAGE", "INVALID_SESSION_ID", "CHECKSUM_MISMATCH", "NOT_FOUND", "STORAGE_FULL", "UPSTREAM_UNAVAILABLE", "INTERNAL_TOKEN_INVALID", "INTERNAL"];

export const storageMetrics = defineMetrics("storage", {
  puts: counter("candid_storage_puts_total", "PutBlobs items by blob kind and outcome (created, identical, conflict, error).", {
    labelNames: ["kind", "outcome"],
    initial: labelSets({ kind: KINDS, outcome: ["created", "identical", "conflict", "error"] }),
  }),
  putBytes: counter("candid_storage_put_bytes_total", "Bytes of newly stored blobs (outcome created), by kind.", { labelNames: ["kind"], initial: labelSets({ kind: ["audio", "frame", "manifest"] }) }),
  putDuration: histogram("candid_storage_put_duration_seconds", "Time from receiving a PutBlobs item to its answer (durable), in seconds.", {
    buckets: LATENCY_BUCKETS_SECONDS,
  }),
  tempFilesRemoved: counter("candid_storage_temp_files_removed_total", "Crash leftovers (fs temp files older than STORAGE_TEMP_GRACE_MS) removed by the temp sweep."),
  tempBytesRemoved: counter("candid_storage_temp_bytes_removed_total", "Bytes of the temp files the temp sweep removed."),
  tempSweeps: counter("candid_storage_temp_sweeps_total", "Temp sweeps (every session folder) by result (ok, error).", { labelNames: ["result"], initial: labelSets({ result: ["ok", "error"] }) }),
  errors: counter("candid_storage_errors_total", "Failed storage requests (stream items and unary calls) by error code (STORAGE_FULL: the volume is out of space).", { labelNames: ["code"], initial: labelSets({ code: STORAGE_ERROR_CODES }) }),
  volumeFreeBytes: gauge("candid_storage_volume_free_bytes", "Free bytes of the media volume an unprivileged writer may use (fs backend; statfs every STORAGE_VOLUME_SAMPLE_MS)."),
  volumeSizeBytes: gauge("candid_storage_volume_size_bytes", "Size of the media volume in bytes (fs backend; statfs every STORAGE_VOLUME_SAMPLE_MS)."),
});

export type StorageMetrics = ReturnType<typeof storageMetrics>;
