/**
 * @module reaper/metrics
 * The reaper's Prometheus metrics: the one place they are declared (main.ts feeds them from each
 * run's result).
 */
import type { Registry } from "prom-client";
import { LATENCY_BUCKETS_SECONDS, counter, defineMetrics, histogram } from "../../shared/metrics";

const declare = defineMetrics("reaper", {
  abandoned: counter("candid_reaper_sessions_abandoned_total", "Media sessions marked abandoned after REAPER_IDLE_MS without activity."),
  runs: counter("candid_reaper_runs_total", "Reaper runs by result (ok, error).", { labelNames: ["result"] }),
  runDuration: histogram("candid_reaper_run_duration_seconds", "Duration of one AbandonIdleSessions call, successful or not.", {
    buckets: LATENCY_BUCKETS_SECONDS,
  }),
});

export function reaperMetrics(registry: Registry) {
  const m = declare(registry);
  // Both series exist from the start, so rate() and absent-based alerts work before the first error.
  m.runs.inc({ result: "ok" }, 0);
  m.runs.inc({ result: "error" }, 0);
  return m;
}

export type ReaperMetrics = ReturnType<typeof reaperMetrics>;
