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
 * | CANDID_RETENTION_DAYS | 0 (off)         | keep an interview this many days after its last activity, |
 * |                      |                  | then erase it (1..3650; an interview's own retention wins)|
 * | REAPER_RETENTION_INTERVAL_MS | 3600000  | pause between two retention passes, ms (>= 1)             |
 * | REAPER_ERASURE_INTERVAL_MS | 5000       | pause between two looks for erasures to do, ms (>= 1)     |
 * | REAPER_ERASURE_LEASE_MS | 60000         | an erasure claim without progress for this long is taken  |
 * |                      |                  | over by the next reaper (a killed one's), 1000..3600000   |
 * | REAPER_ERASURE_PAGE_SIZE | 100          | blobs listed and reported per page, 1..1000               |
 * | REAPER_ERASURE_CONCURRENCY | 8          | DeleteBlob calls in flight at once, 1..64                 |
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
  /** The deployment's retention in days after an interview's last activity; 0: off (docs/retention.md). */
  retentionDays: int("CANDID_RETENTION_DAYS", 0),
  retentionIntervalMs: int("REAPER_RETENTION_INTERVAL_MS", 3_600_000),
  erasureIntervalMs: int("REAPER_ERASURE_INTERVAL_MS", 5_000),
  /** A claim the reaper makes no progress under for this long is another reaper's to resume, ms. */
  erasureLeaseMs: int("REAPER_ERASURE_LEASE_MS", 60_000),
  erasurePageSize: int("REAPER_ERASURE_PAGE_SIZE", 100),
  erasureConcurrency: int("REAPER_ERASURE_CONCURRENCY", 8),
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
  if (config.retentionDays < 0 || config.retentionDays > 3650) problems.push("CANDID_RETENTION_DAYS must be 0 (off) or 1..3650");
  if (config.retentionIntervalMs < 1) problems.push("REAPER_RETENTION_INTERVAL_MS must be at least 1");
  if (config.erasureIntervalMs < 1) problems.push("REAPER_ERASURE_INTERVAL_MS must be at least 1");
  if (config.erasureLeaseMs < 1000 || config.erasureLeaseMs > 3_600_000) problems.push("REAPER_ERASURE_LEASE_MS must be 1000..3600000");
  if (config.erasurePageSize < 1 || config.erasurePageSize > 1000) problems.push("REAPER_ERASURE_PAGE_SIZE must be 1..1000");
  if (config.erasureConcurrency < 1 || config.erasureConcurrency > 64) problems.push("REAPER_ERASURE_CONCURRENCY must be 1..64");
  if (problems.length) throw new ConfigError(problems);
  return config;
}
