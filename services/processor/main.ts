/**
 * Candid processor: analyses stored chunks and frames (voice activity, levels, transcript, faces,
 * picture quality) and writes the results to PostgreSQL through the metadata service. Claims work
 * with expiring leases (AnalysisService), so any number of replicas can run and a killed one's
 * items come back. The only file that wires: config, logger, metrics, gRPC clients, analyzers,
 * the loop, ops HTTP, SIGTERM.
 */
import { randomBytes } from "node:crypto";
import { configOrExit } from "../shared/config";
import { toAppError } from "../shared/errors";
import { checkHealth, healthClient } from "../shared/grpc";
import { createLogger } from "../shared/log";
import { createRegistry, serveOpsHttp } from "../shared/metrics";
import { SileroAudioAnalyzer } from "./analyzers/audio-analyzer";
import { FaceApiFrameAnalyzer } from "./analyzers/frame-analyzer";
import { GrpcBlobReader, GrpcWorkQueue } from "./adapters/grpc-ports";
import { processorMetrics } from "./adapters/metrics";
import { GrpcTranscriber } from "./adapters/transcriber-grpc";
import { OpenAiTranscriber } from "./adapters/transcriber-openai";
import { loadProcessorConfig } from "./config";
import type { Transcriber } from "./core/ports";
import { WorkLoop } from "./core/work-loop";

const config = configOrExit("processor", () => loadProcessorConfig());
const log = createLogger({ service: "processor" }, { level: config.logLevel });
const registry = createRegistry("processor");
const metrics = processorMetrics(registry);
const worker = `${config.instanceId}-${process.pid}-${randomBytes(3).toString("hex")}`;

const queue = new GrpcWorkQueue(config.metadataAddr, config.internalToken, {
  worker,
  leaseMs: config.leaseMs,
  // Claims look past the item limit up to the transient one: the loop decides which applies.
  claimMaxAttempts: config.maxTransientAttempts,
  timeoutMs: 10_000,
});
const blobs = new GrpcBlobReader(config.storageAddr, config.internalToken, 30_000);
let transcriber: Transcriber | null = null;
if (config.transcriberAddr) transcriber = new GrpcTranscriber({ address: config.transcriberAddr, internalToken: config.internalToken, callTimeoutMs: config.transcriberTimeoutMs });
else if (config.openaiUrl) transcriber = new OpenAiTranscriber({ baseUrl: config.openaiUrl, model: config.openaiModel, apiKey: config.openaiApiKey, timeoutMs: config.transcriberTimeoutMs });

const t0 = performance.now();
const audio = new SileroAudioAnalyzer(config.thresholds);
const frames = new FaceApiFrameAnalyzer(config.thresholds);

const loop = new WorkLoop({
  queue,
  analyze: {
    blobs,
    audio,
    frames,
    transcriber,
    language: config.language,
    minSpeechRatioToTranscribe: config.minSpeechRatio,
    onStep: (kind, step, seconds) => metrics.itemDuration.observe({ kind, step }, seconds),
  },
  kinds: config.kinds,
  concurrency: config.concurrency,
  claimBatch: config.claimBatch,
  pollMs: config.pollMs,
  maxAttempts: config.maxAttempts,
  maxTransientAttempts: config.maxTransientAttempts,
  retryBaseMs: config.retryBaseMs,
  retryMaxMs: config.retryMaxMs,
  events: {
    claimed: (items) => {
      for (const i of items) metrics.claimed.inc({ kind: i.kind });
    },
    claimFailed: (err) => {
      metrics.claimFailures.inc();
      const e = toAppError(err);
      log.warn("claim failed", { code: e.code, err: e.code === "INTERNAL" ? (e.cause ?? e) : e.message });
    },
    finished: (item, outcome, seconds, detail) => {
      metrics.items.inc({ kind: item.kind, outcome });
      metrics.itemTotal.observe({ kind: item.kind }, seconds);
      const fields = { sessionId: item.sessionId, kind: item.kind, index: item.index, attempt: item.attempt, bytes: item.fileSize, ms: Math.round(seconds * 1000) };
      if (outcome === "done") log.debug("analysed", fields);
      else if (outcome === "claim_lost") log.info("result dropped: the claim was taken over", fields);
      else (outcome === "failed" ? log.warn : log.info).call(log, outcome === "failed" ? "analysis failed for good" : "analysis will be retried", { ...fields, code: detail.code, err: detail.err });
    },
    inFlight: (n) => metrics.inFlight.set(n),
  },
});

const metadataHealth = healthClient(config.metadataAddr);
const ready = async () => (await Promise.all([checkHealth(metadataHealth, 1000)])).every(Boolean);
const ops = serveOpsHttp({ port: config.metricsPort, hostname: config.host, registry, ready });

loop.start();
log.info("processor started", {
  worker,
  kinds: config.kinds,
  concurrency: config.concurrency,
  transcriber: config.transcriberAddr ? "grpc" : config.openaiUrl ? "openai-compatible" : "off",
  metricsPort: ops.port,
  startMs: Math.round(performance.now() - t0),
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  log.info("shutting down", { signal });
  const timer = setTimeout(() => {
    log.warn("items still running at the end of the grace period; their claims expire and return");
    process.exit(0);
  }, config.shutdownGraceMs);
  await loop.stop();
  clearTimeout(timer);
  ops.stop(true);
  queue.close();
  blobs.close();
  transcriber?.close();
  metadataHealth.close();
  log.info("stopped");
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
