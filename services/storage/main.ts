/**
 * The storage service: the only file that wires. Loads config, builds the BlobStore adapter
 * (fs or s3), serves media.v1.StorageService + grpc.health.v1 over gRPC and /metrics /healthz
 * /readyz over HTTP, samples the fs media volume's free space, and stops gracefully on SIGTERM/SIGINT (in-flight puts are answered).
 */
import { configOrExit } from "../shared/config";
import { startGrpcServer } from "../shared/grpc";
import { type Logger, createLogger } from "../shared/log";
import { createRegistry, serveOpsHttp } from "../shared/metrics";
import { StorageServiceService } from "../../proto/gen/media/v1/storage";
import { AppError } from "../shared/errors";
import { FsBlobStore } from "./adapters/fs-blob-store";
import { createStorageServer } from "./adapters/grpc-server";
import { type StorageMetrics, storageMetrics } from "./adapters/metrics";
import { S3BlobStore } from "./adapters/s3-blob-store";
import { startVolumeSampler } from "./adapters/volume-sampler";
import { type StorageConfig, loadStorageConfig } from "./config";
import type { BlobStore } from "./core/blob-store";

async function buildStore(config: StorageConfig): Promise<BlobStore> {
  if (config.backend === "s3") {
    return new S3BlobStore({
      bucket: config.s3Bucket!, // checked by loadStorageConfig
      prefix: config.s3Prefix,
      endpoint: config.s3Endpoint,
      region: config.s3Region,
      forcePathStyle: config.s3ForcePathStyle,
      accessKeyId: config.s3AccessKeyId,
      secretAccessKey: config.s3SecretAccessKey,
    });
  }
  return FsBlobStore.open(config.mediaDir, { sync: config.fsSync });
}

async function main(): Promise<void> {
  const config: StorageConfig = configOrExit("storage", () => loadStorageConfig());
  const log = createLogger({ service: "storage" }, { level: config.logLevel });
  const registry = createRegistry("storage");
  const metrics = storageMetrics(registry);
  const store = await buildStore(config);
  let stopping = false;

  const grpcServer = await startGrpcServer({
    address: config.grpcAddr,
    services: [{ definition: StorageServiceService, implementation: createStorageServer({ store, log, metrics }) }],
    healthy: async () => !stopping && (await store.ready()),
    internalToken: config.internalToken,
  });
  // fs: the media volume's free space, so an alert fires before puts fail with STORAGE_FULL.
  const stopSampler =
    store instanceof FsBlobStore && config.volumeSampleMs > 0
      ? startVolumeSampler({
          path: store.root,
          intervalMs: config.volumeSampleMs,
          log,
          onSample: (v) => {
            metrics.volumeFreeBytes.set(v.freeBytes);
            metrics.volumeSizeBytes.set(v.sizeBytes);
          },
        })
      : () => {};
  const ops = serveOpsHttp({ port: config.metricsPort, hostname: config.host, registry, ready: async () => !stopping && (await store.ready()) });

  const tempSweeper = startTempSweeper({ store, config, log, metrics });

  log.info("storage listening", {
    grpcPort: grpcServer.port,
    metricsPort: ops.port,
    backend: store.backend,
    ...store.describe(),
  });
  if (!(await store.ready())) log.warn("backend not ready yet", { backend: store.backend });
  else if (store instanceof S3BlobStore) {
    // Create-only writes are what keeps two writers of one key from overwriting each other.
    try {
      await store.verifyConditionalWrites();
    } catch (err) {
      if (err instanceof AppError && err.reason === "no_conditional_writes") {
        log.error("object store unusable: no conditional writes (If-None-Match); see docs/storage.md", { bucket: config.s3Bucket, err: err.cause });
        process.exit(2);
      }
      log.warn("conditional-write check failed; puts will tell", { err });
    }
  }

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("storage stopping", { signal });
    tempSweeper.stop();
    await grpcServer.stop(config.shutdownGraceMs);
    await ops.stop(true);
    stopSampler();
    store.close();
    log.info("storage stopped", { signal });
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

/**
 * Sweeps every session folder for crash leftovers at start, then every STORAGE_TEMP_SWEEP_INTERVAL_MS
 * (fs only: S3 writes are atomic). Runs never overlap; a failed run is logged and counted.
 */
function startTempSweeper(opts: { store: BlobStore; config: StorageConfig; log: Logger; metrics: StorageMetrics }): { stop(): void } {
  const { store, config, log, metrics } = opts;
  if (!store.sweepTemps) return { stop() {} };
  const sweep = store.sweepTemps.bind(store);
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const run = async () => {
    const started = performance.now();
    try {
      const r = await sweep(Date.now() - config.tempGraceMs);
      metrics.tempSweeps.inc({ result: "ok" });
      metrics.tempFilesRemoved.inc(r.removed);
      metrics.tempBytesRemoved.inc(r.bytes);
      const fields = { removed: r.removed, bytes: r.bytes, graceMs: config.tempGraceMs, durationMs: Math.round(performance.now() - started) };
      if (r.removed > 0) log.info("temp files swept", fields);
      else log.debug("temp sweep", fields);
    } catch (err) {
      metrics.tempSweeps.inc({ result: "error" });
      log.warn("temp sweep failed", { err });
    }
    if (!stopped && config.tempSweepIntervalMs > 0) timer = setTimeout(run, config.tempSweepIntervalMs);
  };
  void run();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

main().catch((err) => {
  createLogger({ service: "storage" }).error("storage failed to start", { err });
  process.exit(1);
});
