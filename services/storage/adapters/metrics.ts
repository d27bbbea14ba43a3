/**
 * @module storage/metrics
 * The storage service's Prometheus metrics: the one place they are declared (the gRPC server
 * feeds them).
 */
import { LATENCY_BUCKETS_SECONDS, counter, defineMetrics, gauge, histogram } from "../../shared/metrics";

export const storageMetrics = defineMetrics("storage", {
  puts: counter("candid_storage_puts_total", "PutBlobs items by blob kind and outcome (created, identical, conflict, error).", {
    labelNames: ["kind", "outcome"],
  }),
  putBytes: counter("candid_storage_put_bytes_total", "Bytes of newly stored blobs (outcome created), by kind.", { labelNames: ["kind"] }),
  putDuration: histogram("candid_storage_put_duration_seconds", "Time from receiving a PutBlobs item to its answer (durable), in seconds.", {
    buckets: LATENCY_BUCKETS_SECONDS,
  }),
  tempFilesRemoved: counter("candid_storage_temp_files_removed_total", "Crash leftovers (fs temp files older than STORAGE_TEMP_GRACE_MS) removed by the temp sweep."),
  tempBytesRemoved: counter("candid_storage_temp_bytes_removed_total", "Bytes of the temp files the temp sweep removed."),
  tempSweeps: counter("candid_storage_temp_sweeps_total", "Temp sweeps (every session folder) by result (ok, error).", { labelNames: ["result"] }),
  errors: counter("candid_storage_errors_total", "Failed storage requests (stream items and unary calls) by error code (STORAGE_FULL: the volume is out of space).", { labelNames: ["code"] }),
  volumeFreeBytes: gauge("candid_storage_volume_free_bytes", "Free bytes of the media volume an unprivileged writer may use (fs backend; statfs every STORAGE_VOLUME_SAMPLE_MS)."),
  volumeSizeBytes: gauge("candid_storage_volume_size_bytes", "Size of the media volume in bytes (fs backend; statfs every STORAGE_VOLUME_SAMPLE_MS)."),
});

export type StorageMetrics = ReturnType<typeof storageMetrics>;
