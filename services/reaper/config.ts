/**
 * @module reaper/config
 * Every setting of the reaper, read once at start-up by main.ts.
 *
 * | variable             | default          | meaning                                                   |
 * |----------------------|------------------|-----------------------------------------------------------|
 * | METADATA_ADDR        | 127.0.0.1:50052  | the metadata service's gRPC address                       |
 * | REAPER_INTERVAL_MS   | 30000            | pause between two runs, ms (at least 1)                   |
 * | REAPER_IDLE_MS       | 300000           | inactivity after which an active session is abandoned, ms |
 * | REAPER_BATCH_LIMIT   | 1000             | most sessions abandoned per run (at least 1)              |
 * | STORAGE_ADDR         | 127.0.0.1:50051  | the storage service's gRPC address (orphan sweeper)       |
 * | REAPER_ORPHAN_SWEEP  | true             | run the orphan sweeper (blobs without a row)              |
 * | REAPER_ORPHAN_GRACE_MS | 3600000        | a blob without a row younger than this is kept, ms (>= 1) |
 * | REAPER_ORPHAN_INTERVAL_MS | 600000      | pause between two sweeps of the whole store, ms (>= 1)    |
 * | REAPER_ORPHAN_PAGE_SIZE | 500           | blobs per ListBlobs page, 1..1000                         |
 * | REAPER_ORPHAN_DRY_RUN | false           | count and log orphans, delete nothing                     |
 * | REAPER_METRICS_PORT  | 9103             | HTTP port of /metrics /healthz /readyz (0 = free)         |
 * | REAPER_HOST          | 0.0.0.0          | bind address of the ops port (127.0.0.1 under npm start)  |
 * | CANDID_INTERNAL_TOKEN| (required)       | carried by every call to metadata (at least 32 bytes)     |
 * | LOG_LEVEL            | info             | debug, info, warn or error                                |
 */
import { ConfigError, type Config, bool, int, loadEnv, logLevel, secret, str } from "../shared/config";
import { MIN_INTERNAL_TOKEN_BYTES } from "../shared/grpc";

export const reaperConfigShape = {
  metadataAddr: str("METADATA_ADDR", "127.0.0.1:50052"),
  intervalMs: int("REAPER_INTERVAL_MS", 30_000),
  idleMs: int("REAPER_IDLE_MS", 300_000),
  batchLimit: int("REAPER_BATCH_LIMIT", 1000),
  storageAddr: str("STORAGE_ADDR", "127.0.0.1:50051"),
  /** The orphan sweeper (core/orphan-sweep.ts): blobs with no metadata row. */
  orphanSweep: bool("REAPER_ORPHAN_SWEEP", true),
  /** A blob modified less than this long ago is never judged, ms: its row may be on its way. */
  orphanGraceMs: int("REAPER_ORPHAN_GRACE_MS", 3_600_000),
  /** Pause between the end of one sweep of the whole store and the start of the next, ms. */
  orphanIntervalMs: int("REAPER_ORPHAN_INTERVAL_MS", 600_000),
  /** Blobs per ListBlobs page (one LookupBlobRows query each), 1..1000. */
  orphanPageSize: int("REAPER_ORPHAN_PAGE_SIZE", 500),
  /** Count and log the orphans, delete nothing. */
  orphanDryRun: bool("REAPER_ORPHAN_DRY_RUN", false),
  metricsPort: int("REAPER_METRICS_PORT", 9103),
  /** Bind address of the ops port: 0.0.0.0 in a container, 127.0.0.1 under `npm start`. */
  host: str("REAPER_HOST", "0.0.0.0"),
  internalToken: secret("CANDID_INTERNAL_TOKEN", MIN_INTERNAL_TOKEN_BYTES),
  logLevel: logLevel(),
};

export type ReaperConfig = Config<typeof reaperConfigShape>;

/** loadEnv plus the lower bounds; throws one ConfigError listing every problem. */
export function loadReaperConfig(env: Record<string, string | undefined> = process.env): ReaperConfig {
  const config = loadEnv(reaperConfigShape, env);
  const problems: string[] = [];
  if (config.intervalMs < 1) problems.push("REAPER_INTERVAL_MS must be at least 1");
  if (config.batchLimit < 1) problems.push("REAPER_BATCH_LIMIT must be at least 1");
  if (config.orphanGraceMs < 1) problems.push("REAPER_ORPHAN_GRACE_MS must be at least 1");
  if (config.orphanIntervalMs < 1) problems.push("REAPER_ORPHAN_INTERVAL_MS must be at least 1");
  if (config.orphanPageSize < 1 || config.orphanPageSize > 1000) problems.push("REAPER_ORPHAN_PAGE_SIZE must be 1..1000");
  if (problems.length) throw new ConfigError(problems);
  return config;
}
