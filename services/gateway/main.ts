/**
 * The gateway: terminates the browser's media WebSocket and forwards each blob to the storage and
 * metadata services over gRPC. The only file that reads config and wires adapters to the core.
 */
import type { ServerWebSocket } from "bun";
import { hostname } from "node:os";
import { configOrExit } from "../shared/config";
import { createLogger } from "../shared/log";
import { createRegistry, serveOpsHttp } from "../shared/metrics";
import { sha256Hex } from "../shared/sha256";
import { MetadataGrpcClient, StorageGrpcClient } from "./adapters/grpc-clients";
import { createHttpHandler } from "./adapters/http";
import { RetentionGrpcClient } from "./adapters/grpc-retention-client";
import { accessEvents, gatewayMetrics, leaseEvents, sessionEvents } from "./adapters/metrics";
import { timedMetadata, timedStorage } from "./adapters/timed-upstreams";
import { ConnectionGuard, MeteredByteBudget } from "./adapters/connection-guard";
import { closeServiceRestart, createWsHandler, MEDIA_STREAM_PATH, refuseUpgrade, type WsData } from "./adapters/ws-server";
import { HEADER_BYTES } from "../../proto/wire";
import { createApiKeyChecker } from "./core/api-keys";
import { SessionsPerToken } from "./core/limits";
import { SessionRegistry } from "./core/registry";
import { createTokenKeys, mintReviewerToken, mintUploadToken, verifyAnyToken, verifyUploadToken } from "./core/tokens";
import { Review } from "./core/review";
import { createReviewRoutes, reviewRouteName } from "./adapters/http-review";
import { createReviewAudio } from "./adapters/review-audio";
import { createStitcher } from "../shared/media/stitch-worker";
import { loadGatewayConfig } from "./config";

const config = configOrExit("gateway", () => loadGatewayConfig());
const log = createLogger({ service: "gateway" }, { level: config.logLevel });
const registry = createRegistry("gateway");
const metrics = gatewayMetrics(registry);
const upstream = {
  streams: config.upstreamStreams,
  timeoutMs: config.upstreamTimeoutMs,
  batchItems: config.upstreamBatchItems,
  batchBytes: config.upstreamBatchBytes,
  internalToken: config.internalToken,
};
const storage = new StorageGrpcClient(config.storageAddr, upstream);
const metadata = new MetadataGrpcClient(config.metadataAddr, upstream);
// The ports the core uses, each call timed (candid_gateway_upstream_call_duration_seconds).
const storagePort = timedStorage(storage, metrics.upstreamCalls);
const metadataPort = timedMetadata(metadata, metrics.upstreamCalls);
// Unique per process: GATEWAY_INSTANCE_ID (the pod name) is a prefix. A container restarted in
// the same pod keeps the pod name, and the sessions its dead process held must not look connected
// through the new process's heartbeat.
const instanceId = `${config.instanceId ?? hostname()}-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
const sessions = new SessionRegistry(instanceId, metadataPort, leaseEvents(metrics, log));
sessions.start(config.leaseRenewMs);
const tokenKeys = createTokenKeys(config.tokenSecrets);
const apiKeys = createApiKeyChecker(config.apiKeys);
const verifyToken = (token: string | null) => verifyUploadToken(tokenKeys, token);
const access = accessEvents(metrics, log);
const open = new Set<ServerWebSocket<WsData>>();
let nextConnId = 1;
const guard = new ConnectionGuard({
  limits: config,
  corsAllowedOrigins: config.corsAllowedOrigins,
  refused: (limit) => metrics.limitRefusals.inc({ limit }),
});
const totalBuffered = new MeteredByteBudget(config.maxTotalBufferedBytes, {
  level: (bytes) => metrics.bufferedBytes.set(bytes),
  refused: () => metrics.limitRefusals.inc({ limit: "total_buffered_bytes" }),
});
let draining = false;
/**
 * Readiness (docs/deploy.md, "Readiness"): 503 while starting (until both upstreams have answered
 * once) and from SIGTERM on. Not while an upstream replica restarts: every gateway would leave the
 * Service at once although another upstream replica answers, or the outage is a few seconds; the
 * affected calls fail UPSTREAM_UNAVAILABLE, the client re-sends, and the upstream alerts fire.
 */
let started = false;
const ready = async () => {
  if (draining) return false;
  if (!started) started = (await Promise.all([storage.ready(), metadata.ready()])).every(Boolean);
  return started;
};

// The review side (issue 12): reads through metadata's ReviewService and storage, seals sessions.
const review = new Review({
  listInterviews: (limit, beforeId, onlyId) => metadata.listInterviews(limit, beforeId, onlyId),
  getInterview: (id) => metadata.getInterview(id),
  sessionItems: (sid, chunksAfter, framesAfter, limit) => metadata.sessionItems(sid, chunksAfter, framesAfter, limit),
  seal: (sid, sha) => metadata.seal(sid, sha),
  status: (sid) => metadataPort.status(sid),
  getBlob: (ref) => storage.get(ref),
  putBlob: async (ref, data, sha) => (await storagePort.put(ref, data, sha)).outcome,
  sha256Hex,
});
const stitcher = createStitcher({ workers: config.stitchWorkers });
const reviewAudio = createReviewAudio({
  review,
  stitcher,
  sha256Hex,
  cacheBytes: config.reviewAudioCacheBytes,
  log,
  events: {
    stitched: (seconds) => metrics.stitchSeconds.observe(seconds),
    cache: (hit) => metrics.stitchCache.inc({ result: hit ? "hit" : "miss" }),
  },
});
const seal = async (session: Parameters<Review["seal"]>[0], announced: { chunks: number; frames: number }) => {
  const t0 = performance.now();
  try {
    const r = await review.seal(session, announced);
    metrics.seals.inc({ outcome: "sealed" });
    log.info("session sealed", { sessionId: session.sessionId, chunks: r.manifest.chunks.length, frames: r.manifest.frames.length, missingChunks: r.manifest.missing_chunks.length, missingFrames: r.manifest.missing_frames.length, ms: Math.round(performance.now() - t0) });
  } catch (err) {
    metrics.seals.inc({ outcome: "error" });
    log.warn("seal failed; the manifest route seals later", { sessionId: session.sessionId, err });
  }
};

const http = createHttpHandler({
  status: (id) => metadataPort.status(id),
  sessionAnalysis: (id, chunksAfter, framesAfter, limit) => metadata.sessionAnalysis(id, chunksAfter, framesAfter, limit),
  createInterviewSession: (title, retentionDays) => metadata.createInterviewSession(title, retentionDays),
  retention: new RetentionGrpcClient(config.metadataAddr, { timeoutMs: config.upstreamTimeoutMs, internalToken: config.internalToken }),
  getInterviewSession: (id) => metadata.getInterviewSession(id),
  apiKeys,
  verifyToken: (token) => verifyAnyToken(tokenKeys, token),
  mintToken: (req) => mintUploadToken(tokenKeys, req),
  review: createReviewRoutes({
    review,
    audio: reviewAudio,
    mintReviewerToken: (req) => mintReviewerToken(tokenKeys, req),
    tokenDefaultTtlS: config.tokenDefaultTtlS,
    tokenMaxTtlS: config.tokenMaxTtlS,
    requireApiKey: (req) => apiKeys.check(req.headers.get("authorization")),
    log,
  }),
  tokenDefaultTtlS: config.tokenDefaultTtlS,
  tokenMaxTtlS: config.tokenMaxTtlS,
  ready,
  corsAllowedOrigins: config.corsAllowedOrigins,
  events: access,
  log,
});

/**
 * Review routes that may work longer than Bun's HTTP idle timeout (10 s) before their first byte:
 * stitching a 30 min session takes ~20 s on 2 cores (docs/benchmarks.md#review), verify and a lazy
 * seal read every blob, an export stitches inside its stream. They get this many seconds instead.
 */
const SLOW_ROUTES: ReadonlySet<string> = new Set(["audio", "timeline", "export", "verify", "manifest"]);
const SLOW_ROUTE_IDLE_TIMEOUT_S = 300;

const server = Bun.serve<WsData, never>({
  port: config.port,
  hostname: config.host,
  maxRequestBodySize: config.maxRequestBodyBytes,
  fetch(req, srv) {
    const { pathname } = new URL(req.url);
    if (pathname === MEDIA_STREAM_PATH) {
      if (closing) return refuseUpgrade("SHUTTING_DOWN");
      const ip = srv.requestIP(req)?.address ?? "unknown";
      const refused = guard.checkUpgrade(req, ip);
      if (refused) return refused;
      if (srv.upgrade(req, { data: { connId: nextConnId++, ip } })) return undefined;
      return refuseUpgrade("UPGRADE_REQUIRED");
    }
    if (SLOW_ROUTES.has(reviewRouteName(pathname) ?? "")) srv.timeout(req, SLOW_ROUTE_IDLE_TIMEOUT_S);
    return http(req);
  },
  websocket: createWsHandler({
    deps: {
      storage: storagePort,
      metadata: metadataPort,
      registry: sessions,
      verifyToken,
      sessionsPerToken: new SessionsPerToken(config.maxSessionsPerToken),
      limits: {
        maxAudioBytes: config.maxAudioBytes,
        maxFrameBytes: config.maxFrameBytes,
        maxPending: config.maxPending,
        pendingTtlMs: config.pendingTtlMs,
        maxInFlight: config.maxInFlight,
        maxBufferedBytes: Math.max(config.maxBufferedBytes, config.maxAudioBytes + HEADER_BYTES),
      },
      events: sessionEvents(metrics, log),
      totalBuffered,
      now: () => performance.timeOrigin + performance.now(),
      sha256Hex,
      seal,
    },
    metrics,
    log,
    maxPayloadBytes: Math.max(config.maxAudioBytes, config.maxFrameBytes) + HEADER_BYTES,
    backpressureLimitBytes: config.wsBackpressureLimitBytes,
    idleTimeoutSeconds: config.wsIdleTimeoutSeconds,
    open,
    guard,
  }),
});

// /metrics lives here, off the public port.
const ops = serveOpsHttp({ port: config.opsPort, hostname: config.opsHost, registry, ready });

log.info("gateway listening", {
  port: server.port,
  opsPort: ops.port,
  storageAddr: config.storageAddr,
  metadataAddr: config.metadataAddr,
  corsAllowedOrigins: config.corsAllowedOrigins,
  apiKeys: config.apiKeys.length,
  tokenSecrets: config.tokenSecrets.length,
  instanceId,
});

/**
 * A rolling restart (docs/deploy.md): readiness 503 at once; keep serving for
 * GATEWAY_DRAIN_DELAY_MS (new connections too) while the load balancer takes this replica out;
 * then stop taking connections, wait (up to GATEWAY_SHUTDOWN_GRACE_MS) for the blobs already
 * received to be stored and acked, close every socket 1012 (the client reconnects to another
 * replica at once and re-sends what was not acked), give the leases up, and exit.
 */
let closing = false;
async function shutdown(signal: string) {
  if (draining) return;
  draining = true;
  log.info("draining", { signal, connections: open.size, drainDelayMs: config.drainDelayMs });
  if (config.drainDelayMs > 0) await Bun.sleep(config.drainDelayMs);
  closing = true;
  log.info("shutting down", { signal, connections: open.size });
  server.stop(false); // no new connections; open sockets stay until drained
  const deadline = Date.now() + config.shutdownGraceMs;
  await Promise.race([
    Promise.all([...open].map((ws) => ws.data.session?.drain())),
    Bun.sleep(Math.max(0, deadline - Date.now())),
  ]);
  for (const ws of open) closeServiceRestart(ws);
  await Bun.sleep(config.shutdownCloseFlushMs);
  // The close handlers released the leases; wait for those calls before the client goes.
  await Promise.race([sessions.stop(), Bun.sleep(1000)]);
  stitcher.close();
  storage.close();
  metadata.close();
  server.stop(true);
  ops.stop(true);
  log.info("stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
