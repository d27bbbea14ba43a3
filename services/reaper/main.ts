/**
 * Candid reaper: marks media sessions abandoned after REAPER_IDLE_MS without activity (the
 * spec's 5-minute inactivity timeout) by calling MetadataService.AbandonIdleSessions every
 * REAPER_INTERVAL_MS. Stateless and idempotent: running two replicas is safe, one is enough.
 * The only file that wires: config, logger, metrics, gRPC client, loop, ops HTTP, SIGTERM.
 */
import { MetadataServiceClient } from "../../proto/gen/media/v1/metadata";
import { int, loadEnvOrExit, oneOf, secret, str } from "../shared/config";
import { toAppError } from "../shared/errors";
import { MIN_INTERNAL_TOKEN_BYTES, checkHealth, healthClient, internalClient } from "../shared/grpc";
import { createLogger } from "../shared/log";
import { Counter, Histogram, LATENCY_BUCKETS_SECONDS, createRegistry, serveOpsHttp } from "../shared/metrics";
import { grpcSessionReaper } from "./adapters/grpc-session-reaper";
import { type RunResult, startReapLoop } from "./core/reap-loop";

const config = loadEnvOrExit("reaper", {
  metadataAddr: str("METADATA_ADDR", "127.0.0.1:50052"),
  intervalMs: int("REAPER_INTERVAL_MS", 30_000),
  idleMs: int("REAPER_IDLE_MS", 300_000),
  batchLimit: int("REAPER_BATCH_LIMIT", 1000),
  metricsPort: int("REAPER_METRICS_PORT", 9103),
  /** Bind address of the ops port: 0.0.0.0 in a container, 127.0.0.1 under `npm start`. */
  host: str("REAPER_HOST", "0.0.0.0"),
  internalToken: secret("CANDID_INTERNAL_TOKEN", MIN_INTERNAL_TOKEN_BYTES),
  logLevel: oneOf("LOG_LEVEL", ["debug", "info", "warn", "error"] as const, "info"),
});
const log = createLogger({ service: "reaper" }, { level: config.logLevel });
if (config.intervalMs < 1 || config.batchLimit < 1) {
  log.error("REAPER_INTERVAL_MS and REAPER_BATCH_LIMIT must be at least 1");
  process.exit(2);
}

const registry = createRegistry("reaper");
const abandonedTotal = new Counter({
  name: "candid_reaper_sessions_abandoned_total",
  help: "Media sessions marked abandoned after REAPER_IDLE_MS without activity.",
  registers: [registry],
});
const runsTotal = new Counter({
  name: "candid_reaper_runs_total",
  help: "Reaper runs by result (ok, error).",
  labelNames: ["result"] as const,
  registers: [registry],
});
const runDuration = new Histogram({
  name: "candid_reaper_run_duration_seconds",
  help: "Duration of one AbandonIdleSessions call, successful or not.",
  buckets: LATENCY_BUCKETS_SECONDS,
  registers: [registry],
});
// Both series exist from the start, so rate() and absent-based alerts work before the first error.
runsTotal.inc({ result: "ok" }, 0);
runsTotal.inc({ result: "error" }, 0);

const client = internalClient(MetadataServiceClient, config.metadataAddr, config.internalToken);
const health = healthClient(config.metadataAddr);

// The call may take as long as the interval, but never longer than 30 s: a stuck call must not
// block the loop (and SIGTERM cancels it anyway).
const callTimeoutMs = Math.min(Math.max(config.intervalMs, 5_000), 30_000);

function onRun(r: RunResult) {
  runDuration.observe(r.durationMs / 1000);
  if (r.ok) {
    runsTotal.inc({ result: "ok" });
    abandonedTotal.inc(r.sessionIds.length);
    for (const sessionId of r.sessionIds) log.info("session abandoned", { sessionId, idleMs: config.idleMs });
    log.debug("reaper run", { abandoned: r.sessionIds.length, durationMs: Math.round(r.durationMs) });
  } else {
    runsTotal.inc({ result: "error" });
    const err = toAppError(r.error);
    log.warn("reaper run failed", { code: err.code, err: err.code === "INTERNAL" ? (err.cause ?? err) : err.message, durationMs: Math.round(r.durationMs) });
  }
}

const loop = startReapLoop({
  schedule: { intervalMs: config.intervalMs, batchLimit: config.batchLimit },
  reap: grpcSessionReaper(client, { idleMs: config.idleMs, callTimeoutMs }),
  onRun,
});

const ops = serveOpsHttp({ port: config.metricsPort, hostname: config.host, registry, ready: () => checkHealth(health) });
log.info("reaper started", {
  metadataAddr: config.metadataAddr,
  intervalMs: config.intervalMs,
  idleMs: config.idleMs,
  batchLimit: config.batchLimit,
  metricsPort: ops.port,
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info("reaper stopping", { signal });
  await loop.stop();
  await ops.stop(true);
  client.close();
  health.close();
  log.info("reaper stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
