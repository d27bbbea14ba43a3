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
 * | REAPER_METRICS_PORT  | 9103             | HTTP port of /metrics /healthz /readyz (0 = free)         |
 * | REAPER_HOST          | 0.0.0.0          | bind address of the ops port (127.0.0.1 under npm start)  |
 * | CANDID_INTERNAL_TOKEN| (required)       | carried by every call to metadata (at least 32 bytes)     |
 * | LOG_LEVEL            | info             | debug, info, warn or error                                |
 */
import { ConfigError, type Config, int, loadEnv, logLevel, secret, str } from "../shared/config";
import { MIN_INTERNAL_TOKEN_BYTES } from "../shared/grpc";

export const reaperConfigShape = {
  metadataAddr: str("METADATA_ADDR", "127.0.0.1:50052"),
  intervalMs: int("REAPER_INTERVAL_MS", 30_000),
  idleMs: int("REAPER_IDLE_MS", 300_000),
  batchLimit: int("REAPER_BATCH_LIMIT", 1000),
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
  if (problems.length) throw new ConfigError(problems);
  return config;
}
