/**
 * The storage service: the only file that wires. Loads config, builds the BlobStore adapter
 * (fs or s3), serves media.v1.StorageService + grpc.health.v1 over gRPC and /metrics /healthz
 * /readyz over HTTP, samples the fs media volume's free space, and stops gracefully on SIGTERM/SIGINT (in-flight puts are answered).
 */
import { configOrExit } from "../shared/config";
import { startGrpcServer } from "../shared/grpc";
import { createLogger } from "../shared/log";
import { createRegistry, serveOpsHttp } from "../shared/metrics";
import { StorageServiceService } from "../../proto/gen/media/v1/storage";
import { FsBlobStore } from "./adapters/fs-blob-store";
import { createStorageServer } from "./adapters/grpc-server";
import { storageMetrics } from "./adapters/metrics";
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

  log.info("storage listening", {
    grpcPort: grpcServer.port,
    metricsPort: ops.port,
    backend: store.backend,
    ...store.describe(),
  });
  if (!(await store.ready())) log.warn("backend not ready yet", { backend: store.backend });

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("storage stopping", { signal });
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

main().catch((err) => {
  createLogger({ service: "storage" }).error("storage failed to start", { err });
  process.exit(1);
});
