/**
 * @module metadata/main
 * The metadata service's only wiring file: config -> database (PostgreSQL, or the embedded
 * PGlite when DATABASE_URL is unset) -> migrations -> gRPC + ops HTTP -> SIGTERM.
 */
import { configOrExit } from "../shared/config";
import { startGrpcServer } from "../shared/grpc";
import { createLogger, type Logger } from "../shared/log";
import { createRegistry, serveOpsHttp } from "../shared/metrics";
import { createAnalysisGrpc } from "./adapters/analysis-grpc";
import { createMetadataGrpc } from "./adapters/grpc-server";
import { metadataMetrics } from "./adapters/metrics";
import { DedicatedPipelines } from "./adapters/pg-pipeline";
import { PgAnalysisRepo } from "./adapters/pg-analysis-repo";
import { PgReviewRepo } from "./adapters/pg-review-repo";
import { PgRetentionRepo } from "./adapters/pg-retention-repo";
import { createRetentionGrpc } from "./adapters/retention-grpc";
import { Retention } from "./core/retention";
import { createReviewGrpc } from "./adapters/review-grpc";
import { Review } from "./core/review";
import { connectPostgres, PgSessionRepo, runMigrations } from "./adapters/pg-repo";
import { Analysis } from "./core/analysis";
import { Metadata } from "./core/metadata";
import { PGLITE_POOL_MAX, startPglite, type EmbeddedPostgres } from "./adapters/pglite-server";
import { loadMetadataConfig, redactDatabaseUrl, type MetadataConfig } from "./config";

async function main(config: MetadataConfig, log: Logger) {
  let pglite: EmbeddedPostgres | undefined;
  let url = config.databaseUrl;
  if (!url) {
    const t0 = performance.now();
    pglite = await startPglite({ dataDir: config.pgliteDataDir, port: config.pglitePort, durable: config.pgliteFsync });
    url = pglite.url;
    const { durable, settings, statement } = pglite.durability;
    (durable ? log.info : log.warn).call(log, "pglite started", {
      dataDir: pglite.dataDir,
      port: pglite.port,
      ms: Math.round(performance.now() - t0),
      durable,
      durability: statement,
      ...settings,
    });
  } else {
    log.info("connecting to postgres", { url: redactDatabaseUrl(url) });
  }
  const poolMax = pglite ? PGLITE_POOL_MAX : Math.max(2, config.databasePoolMax);
  // Lanes (METADATA_RECORD_LANES, default 1: on the 2-core benchmark machine 4 lanes cost 0.25 ms
  // of PostgreSQL CPU per blob, 1 lane 0.13, and one lane still commits up to maxBatch rows per
  // round trip). Never more than the pool leaves for unary calls; PGlite has exactly one connection.
  const recordLanes = pglite ? 1 : Math.max(1, Math.min(config.recordLanes, poolMax - 1));
  // Against PostgreSQL each lane's batches run on a connection of its own (pg-pipeline.ts: one
  // dropped by a restart is replaced, never handed back to the pool), the pool has the rest.
  const sql = connectPostgres(url, pglite ? poolMax : poolMax - recordLanes);
  const pipelines = pglite ? undefined : new DedicatedPipelines((onclose) => connectPostgres(url, 1, { onclose, fetch_types: false }));

  const applied = await runMigrations(sql);
  log.info("migrations done", { applied });

  const core = new Metadata(new PgSessionRepo(sql, pipelines, config.leaseTtlMs), {
    onBatchSplit: (size, err) => log.warn("batch failed, retrying items one by one", { size, code: err.code, err: err.cause ?? err }),
  });
  const registry = createRegistry("metadata");
  const analysis = new Analysis(new PgAnalysisRepo(sql));
  const metrics = metadataMetrics(registry);
  const metadata = createMetadataGrpc({ metadata: core, analysis, log, metrics, recordLanes, maxBatch: Math.max(1, config.recordMaxBatch) });
  const healthy = () => core.ping().catch(() => false);
  const grpcServer = await startGrpcServer({ address: config.grpcAddr, services: [metadata.service, createAnalysisGrpc({ analysis, log, metrics }), createReviewGrpc({ review: new Review(new PgReviewRepo(sql)), log, metrics }), createRetentionGrpc({ retention: new Retention(new PgRetentionRepo(sql)), log, metrics })], healthy, internalToken: config.internalToken });
  const ops = serveOpsHttp({ port: config.metricsPort, hostname: config.host, registry, ready: healthy });

  log.info("metadata listening", {
    grpcPort: grpcServer.port,
    metricsPort: ops.port,
    database: pglite ? "pglite" : "postgres",
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal });
    await grpcServer.stop(config.shutdownGraceMs);
    await metadata.idle();
    ops.stop(true);
    await pipelines?.end(5);
    await sql.end({ timeout: 5 });
    await pglite?.close();
    log.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

const config: MetadataConfig = configOrExit("metadata", () => loadMetadataConfig());
const log = createLogger({ service: "metadata" }, { level: config.logLevel });
main(config, log).catch((err) => {
  log.error("start failed", { err });
  process.exit(1);
});
