/**
 * @module reaper/metrics
 * The reaper's Prometheus metrics: the one place they are declared (main.ts feeds them from each
 * run's result).
 */
import type { Registry } from "prom-client";
import { LATENCY_BUCKETS_SECONDS, counter, defineMetrics, gauge, histogram } from "../../shared/metrics";

const declare = defineMetrics("reaper", {
  abandoned: counter("candid_reaper_sessions_abandoned_total", "Media sessions marked abandoned after REAPER_IDLE_MS without activity."),
  runs: counter("candid_reaper_runs_total", "Reaper runs by result (ok, error).", { labelNames: ["result"] }),
  runDuration: histogram("candid_reaper_run_duration_seconds", "Duration of one AbandonIdleSessions call, successful or not.", {
    buckets: LATENCY_BUCKETS_SECONDS,
  }),
  orphansFound: counter("candid_reaper_orphans_found_total", "Blobs older than REAPER_ORPHAN_GRACE_MS without a metadata row (also counted in dry run), by kind.", {
    labelNames: ["kind"],
  }),
  orphanBytesFound: counter("candid_reaper_orphan_bytes_found_total", "Bytes of the orphans found, by kind.", { labelNames: ["kind"] }),
  orphansRemoved: counter("candid_reaper_orphans_removed_total", "Orphan blobs deleted (never in dry run), by kind.", { labelNames: ["kind"] }),
  orphanBytesRemoved: counter("candid_reaper_orphan_bytes_removed_total", "Bytes of the orphan blobs deleted, by kind.", { labelNames: ["kind"] }),
  orphanBlobsScanned: counter("candid_reaper_orphan_blobs_scanned_total", "Blobs the orphan sweeper listed."),
  orphanSweeps: counter("candid_reaper_orphan_sweeps_total", "Orphan sweeps of the whole store by result (ok, error).", { labelNames: ["result"] }),
  orphanSweepDuration: histogram("candid_reaper_orphan_sweep_duration_seconds", "Duration of one orphan sweep of the whole store, successful or not.", {
    buckets: [0.01, 0.1, 1, 10, 60, 300, 1800, 3600],
  }),
  orphanDryRun: gauge("candid_reaper_orphan_dry_run", "1 when the orphan sweeper only counts (REAPER_ORPHAN_DRY_RUN=true), else 0."),
});

export function reaperMetrics(registry: Registry) {
  const m = declare(registry);
  // Both series exist from the start, so rate() and absent-based alerts work before the first error.
  m.runs.inc({ result: "ok" }, 0);
  m.runs.inc({ result: "error" }, 0);
  for (const result of ["ok", "error"]) m.orphanSweeps.inc({ result }, 0);
  for (const kind of ["audio", "frame"]) {
    m.orphansFound.inc({ kind }, 0);
    m.orphanBytesFound.inc({ kind }, 0);
    m.orphansRemoved.inc({ kind }, 0);
    m.orphanBytesRemoved.inc({ kind }, 0);
  }
  return m;
}

export type ReaperMetrics = ReturnType<typeof reaperMetrics>;
