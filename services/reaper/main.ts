/**
 * Candid reaper: marks media sessions abandoned after REAPER_IDLE_MS without activity (the
 * spec's 5-minute inactivity timeout) by calling MetadataService.AbandonIdleSessions every
 * REAPER_INTERVAL_MS. Stateless and idempotent: running two replicas is safe, one is enough.
 * The only file that wires: config, logger, metrics, gRPC client, loop, ops HTTP, SIGTERM.
 */
import { MetadataServiceClient } from "../../proto/gen/media/v1/metadata";
import { configOrExit } from "../shared/config";
import { toAppError } from "../shared/errors";
import { checkHealth, healthClient, internalClient } from "../shared/grpc";
import { createLogger } from "../shared/log";
import { createRegistry, serveOpsHttp } from "../shared/metrics";
import { grpcSessionReaper } from "./adapters/grpc-session-reaper";
import { reaperMetrics } from "./adapters/metrics";
import { loadReaperConfig } from "./config";
import { type RunResult, startReapLoop } from "./core/reap-loop";

const config = configOrExit("reaper", () => loadReaperConfig());
const log = createLogger({ service: "reaper" }, { level: config.logLevel });
const registry = createRegistry("reaper");
const metrics = reaperMetrics(registry);

const client = internalClient(MetadataServiceClient, config.metadataAddr, config.internalToken);
const health = healthClient(config.metadataAddr);

// The call may take as long as the interval, but never longer than 30 s: a stuck call must not
// block the loop (and SIGTERM cancels it anyway).
const callTimeoutMs = Math.min(Math.max(config.intervalMs, 5_000), 30_000);

function onRun(r: RunResult) {
  metrics.runDuration.observe(r.durationMs / 1000);
  if (r.ok) {
    metrics.runs.inc({ result: "ok" });
    metrics.abandoned.inc(r.sessionIds.length);
    for (const sessionId of r.sessionIds) log.info("session abandoned", { sessionId, idleMs: config.idleMs });
    log.debug("reaper run", { abandoned: r.sessionIds.length, durationMs: Math.round(r.durationMs) });
  } else {
    metrics.runs.inc({ result: "error" });
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
