/**
 * Candid reaper: marks media sessions abandoned after REAPER_IDLE_MS without activity (the
 * spec's 5-minute inactivity timeout) by calling MetadataService.AbandonIdleSessions every
 * REAPER_INTERVAL_MS, and sweeps orphan blobs (stored, but no metadata row, older than
 * REAPER_ORPHAN_GRACE_MS: core/orphan-sweep.ts) every REAPER_ORPHAN_INTERVAL_MS.
 * It also carries out erasures (core/erasure.ts: claimed from metadata, every blob deleted through
 * storage, then the rows) and runs the retention pass every REAPER_RETENTION_INTERVAL_MS
 * (CANDID_RETENTION_DAYS and each interview's own retention; docs/retention.md).
 * Stateless and idempotent: running two replicas is safe, one is enough.
 * The only file that wires: config, logger, metrics, gRPC client, loop, ops HTTP, SIGTERM.
 */
import { hostname } from "node:os";
import { MetadataServiceClient } from "../../proto/gen/media/v1/metadata";
import { RetentionServiceClient } from "../../proto/gen/media/v1/retention";
import { StorageServiceClient } from "../../proto/gen/media/v1/storage";
import { configOrExit } from "../shared/config";
import { toAppError } from "../shared/errors";
import { checkHealth, healthClient, internalClient } from "../shared/grpc";
import { createLogger } from "../shared/log";
import { createRegistry, serveOpsHttp } from "../shared/metrics";
import { grpcErasurePorts } from "./adapters/grpc-erasure-ports";
import { grpcOrphanPorts } from "./adapters/grpc-orphan-ports";
import { grpcSessionReaper } from "./adapters/grpc-session-reaper";
import { reaperMetrics } from "./adapters/metrics";
import { loadReaperConfig } from "./config";
import { type ErasureResult, type RetentionPassResult, startErasureLoop, startRetentionLoop } from "./core/erasure";
import { type SweepResult, startSweepLoop } from "./core/orphan-sweep";
import { type RunResult, startReapLoop } from "./core/reap-loop";

const config = configOrExit("reaper", () => loadReaperConfig());
const log = createLogger({ service: "reaper" }, { level: config.logLevel });
const registry = createRegistry("reaper");
const metrics = reaperMetrics(registry);

const client = internalClient(MetadataServiceClient, config.metadataAddr, config.internalToken);
const health = healthClient(config.metadataAddr);
// Storage: the erasures need it always, the orphan sweeper when it runs.
const storage = internalClient(StorageServiceClient, config.storageAddr, config.internalToken);
const retention = internalClient(RetentionServiceClient, config.metadataAddr, config.internalToken);
// Unique per process, so a restarted reaper never takes its dead predecessor's claims for its own.
const worker = `reaper-${hostname()}-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;

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

function onSweep(r: SweepResult) {
  metrics.orphanSweepDuration.observe(r.durationMs / 1000);
  metrics.orphanSweeps.inc({ result: r.ok ? "ok" : "error" });
  const s = r.stats;
  metrics.orphanBlobsScanned.inc(s.scanned);
  for (const kind of ["audio", "frame"] as const) {
    metrics.orphansFound.inc({ kind }, s.found[kind]);
    metrics.orphanBytesFound.inc({ kind }, s.foundBytes[kind]);
    metrics.orphansRemoved.inc({ kind }, s.removed[kind]);
    metrics.orphanBytesRemoved.inc({ kind }, s.removedBytes[kind]);
  }
  const fields = {
    dryRun: config.orphanDryRun,
    scanned: s.scanned,
    pages: s.pages,
    young: s.young,
    found: s.found.audio + s.found.frame,
    removed: s.removed.audio + s.removed.frame,
    removedBytes: s.removedBytes.audio + s.removedBytes.frame,
    adopted: s.adopted,
    gone: s.gone,
    durationMs: Math.round(r.durationMs),
  };
  if (r.ok) {
    if (fields.found > 0) log.info("orphan sweep", fields);
    else log.debug("orphan sweep", fields);
  } else {
    const err = toAppError(r.error);
    log.warn("orphan sweep failed", { ...fields, code: err.code, err: err.code === "INTERNAL" ? (err.cause ?? err) : err.message });
  }
}

metrics.orphanDryRun.set(config.orphanDryRun ? 1 : 0);
const sweeper = config.orphanSweep
  ? startSweepLoop({
      ports: grpcOrphanPorts(storage, client, { callTimeoutMs: 30_000 }),
      sweep: {
        graceMs: config.orphanGraceMs,
        pageSize: config.orphanPageSize,
        dryRun: config.orphanDryRun,
        onOrphan: (b, action) =>
          log.info(action === "dry_run" ? "orphan found (dry run)" : action === "deleted" ? "orphan deleted" : "orphan kept", {
            action,
            sessionId: b.ref.sessionId,
            kind: b.ref.kind,
            index: b.ref.index,
            size: b.size,
            ageMs: Date.now() - b.modifiedAtMs,
          }),
      },
      intervalMs: config.orphanIntervalMs,
      onSweep,
    })
  : null;

function onErasure(r: ErasureResult) {
  const e = r.erasure;
  const s = r.stats;
  metrics.erasures.inc({ reason: e.reason, outcome: r.ok ? "done" : "error" });
  metrics.erasureDuration.observe(r.durationMs / 1000);
  metrics.erasureBlobsDeleted.inc(s.blobsDeleted);
  metrics.erasureBytesDeleted.inc(s.bytesDeleted);
  metrics.erasureRowsDeleted.inc(s.rowsDeleted);
  // Ids and counts only: an erasure's log line names no title, user or session.
  const fields = {
    erasureId: e.erasureId,
    interviewSessionId: e.interviewSessionId,
    reason: e.reason,
    attempt: e.attempt,
    mediaSessions: s.sessions,
    blobsDeleted: s.blobsDeleted,
    bytesDeleted: s.bytesDeleted,
    blobsGone: s.blobsGone,
    rowsDeleted: s.rowsDeleted,
    durationMs: Math.round(r.durationMs),
  };
  if (r.ok) log.info("erasure done", fields);
  else {
    const err = toAppError(r.error);
    log.warn("erasure failed, retried once its claim expires", { ...fields, code: err.code, err: err.code === "INTERNAL" ? (err.cause ?? err) : err.message });
  }
}

function onRetentionPass(r: RetentionPassResult) {
  metrics.retentionPasses.inc({ result: r.ok ? "ok" : "error" });
  if (r.ok) {
    metrics.retentionEnqueued.inc(r.enqueued.length);
    for (const e of r.enqueued) log.info("retention expired: erasure enqueued", { erasureId: e.erasureId, interviewSessionId: e.interviewSessionId, retentionDays: config.retentionDays });
  } else {
    const err = toAppError(r.error);
    log.warn("retention pass failed", { code: err.code, err: err.code === "INTERNAL" ? (err.cause ?? err) : err.message });
  }
}

const erasurePorts = grpcErasurePorts(storage, retention, {
  worker,
  leaseMs: config.erasureLeaseMs,
  defaultRetentionDays: config.retentionDays,
  callTimeoutMs: 30_000,
});
const eraser = startErasureLoop({
  ports: erasurePorts,
  erasure: { pageSize: config.erasurePageSize, concurrency: config.erasureConcurrency },
  intervalMs: config.erasureIntervalMs,
  onErasure,
  onClaimError: (err) => {
    metrics.erasureClaimErrors.inc();
    const e = toAppError(err);
    log.warn("erasure claim failed", { code: e.code, err: e.code === "INTERNAL" ? (e.cause ?? e) : e.message });
  },
});
const retentionLoop = startRetentionLoop({ ports: erasurePorts, limit: 100, intervalMs: config.retentionIntervalMs, onPass: onRetentionPass });

const ops = serveOpsHttp({ port: config.metricsPort, hostname: config.host, registry, ready: () => checkHealth(health) });
log.info("reaper started", {
  metadataAddr: config.metadataAddr,
  intervalMs: config.intervalMs,
  idleMs: config.idleMs,
  batchLimit: config.batchLimit,
  orphanSweep: config.orphanSweep,
  storageAddr: config.orphanSweep ? config.storageAddr : undefined,
  orphanGraceMs: config.orphanGraceMs,
  orphanIntervalMs: config.orphanIntervalMs,
  orphanDryRun: config.orphanDryRun,
  retentionDays: config.retentionDays,
  retentionIntervalMs: config.retentionIntervalMs,
  erasureIntervalMs: config.erasureIntervalMs,
  erasureLeaseMs: config.erasureLeaseMs,
  metricsPort: ops.port,
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info("reaper stopping", { signal });
  await Promise.all([loop.stop(), sweeper?.stop(), eraser.stop(), retentionLoop.stop()]);
  await ops.stop(true);
  client.close();
  storage.close();
  retention.close();
  health.close();
  log.info("reaper stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
