/**
 * @module reaper/metrics
 * The reaper's Prometheus metrics: the one place they are declared (main.ts feeds them from each
 * run's result).
 */
import { LATENCY_BUCKETS_SECONDS, counter, defineMetrics, gauge, histogram, labelSets } from "../../shared/metrics";

const RESULTS = labelSets({ result: ["ok", "error"] });
const KINDS = labelSets({ kind: ["audio", "frame"] });
const ERASURE_OUTCOMES = labelSets({ reason: ["request", "retention"], outcome: ["done", "error"] });

const declare = defineMetrics("reaper", {
  abandoned: counter("candid_reaper_sessions_abandoned_total", "Media sessions marked abandoned after REAPER_IDLE_MS without activity."),
  runs: counter("candid_reaper_runs_total", "Reaper runs by result (ok, error).", { labelNames: ["result"], initial: RESULTS }),
  runDuration: histogram("candid_reaper_run_duration_seconds", "Duration of one AbandonIdleSessions call, successful or not.", {
    buckets: LATENCY_BUCKETS_SECONDS,
  }),
  orphansFound: counter("candid_reaper_orphans_found_total", "Blobs older than REAPER_ORPHAN_GRACE_MS without a metadata row (also counted in dry run), by kind.", {
    labelNames: ["kind"],
    initial: KINDS,
  }),
  orphanBytesFound: counter("candid_reaper_orphan_bytes_found_total", "Bytes of the orphans found, by kind.", { labelNames: ["kind"], initial: KINDS }),
  orphansRemoved: counter("candid_reaper_orphans_removed_total", "Orphan blobs deleted (never in dry run), by kind.", { labelNames: ["kind"], initial: KINDS }),
  orphanBytesRemoved: counter("candid_reaper_orphan_bytes_removed_total", "Bytes of the orphan blobs deleted, by kind.", { labelNames: ["kind"], initial: KINDS }),
  orphanBlobsScanned: counter("candid_reaper_orphan_blobs_scanned_total", "Blobs the orphan sweeper listed."),
  orphanSweeps: counter("candid_reaper_orphan_sweeps_total", "Orphan sweeps of the whole store by result (ok, error).", { labelNames: ["result"], initial: RESULTS }),
  orphanSweepDuration: histogram("candid_reaper_orphan_sweep_duration_seconds", "Duration of one orphan sweep of the whole store, successful or not.", {
    buckets: [0.01, 0.1, 1, 10, 60, 300, 1800, 3600],
  }),
  erasures: counter("candid_reaper_erasures_total", "Erasures carried out by this reaper, by reason (request, retention) and outcome (done, error: retried once its claim expires).", {
    labelNames: ["reason", "outcome"],
    initial: ERASURE_OUTCOMES,
  }),
  erasureBlobsDeleted: counter("candid_reaper_erasure_blobs_deleted_total", "Blobs (chunks, frames, manifests) storage confirmed deleted by erasures."),
  erasureBytesDeleted: counter("candid_reaper_erasure_bytes_deleted_total", "Bytes of the blobs deleted by erasures."),
  erasureRowsDeleted: counter("candid_reaper_erasure_rows_deleted_total", "Metadata rows (chunks, frames, capture events, media sessions) deleted by erasures."),
  erasureDuration: histogram("candid_reaper_erasure_duration_seconds", "Duration of one erasure attempt, successful or not.", {
    buckets: [0.1, 1, 10, 60, 300, 1800, 3600],
  }),
  erasureClaimErrors: counter("candid_reaper_erasure_claim_errors_total", "ClaimErasures calls that failed (metadata unreachable)."),
  retentionPasses: counter("candid_reaper_retention_passes_total", "Retention passes (EnqueueExpiredErasures) by result (ok, error).", { labelNames: ["result"], initial: RESULTS }),
  retentionEnqueued: counter("candid_reaper_retention_enqueued_total", "Interviews whose retention ran out, enqueued for erasure by the retention pass."),
  orphanDryRun: gauge("candid_reaper_orphan_dry_run", "1 when the orphan sweeper only counts (REAPER_ORPHAN_DRY_RUN=true), else 0."),
});

/** Registers the reaper's metrics; every labelled counter starts at 0 for its label sets. */
export const reaperMetrics = declare;

export type ReaperMetrics = ReturnType<typeof reaperMetrics>;
