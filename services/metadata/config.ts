/**
 * @module metadata/config
 * Every setting of the metadata service, read once at start-up by main.ts.
 */
import { bool, int, loadEnv, logLevel, optStr, secret, str, type Config } from "../shared/config";
import { MIN_INTERNAL_TOKEN_BYTES } from "../shared/grpc";

export const metadataConfigShape = {
  /** Bind address of the ops port and the default gRPC one: 0.0.0.0 in a container, 127.0.0.1 under `npm start`. */
  host: str("METADATA_HOST", "0.0.0.0"),
  /** host:port of the gRPC server (default METADATA_HOST:50052). */
  grpcAddr: (env: Record<string, string | undefined>) => str("METADATA_GRPC_ADDR", `${env.METADATA_HOST || "0.0.0.0"}:50052`)(env),
  /** Port of the ops HTTP server (/metrics, /healthz, /readyz). */
  metricsPort: int("METADATA_METRICS_PORT", 9102),
  /** >= 32 bytes; every gRPC call but grpc.health.v1 must carry it. */
  internalToken: secret("CANDID_INTERNAL_TOKEN", MIN_INTERNAL_TOKEN_BYTES),
  /** postgres://user:pass@host:port/db; unset = the embedded PGlite below. */
  databaseUrl: optStr("DATABASE_URL"),
  /**
   * Connections to a real PostgreSQL in all (at least 2): one per RecordBlobs lane
   * (adapters/pg-pipeline.ts), the rest a postgres.js pool for the other calls. PGlite always 1.
   */
  databasePoolMax: int("DATABASE_POOL_MAX", 10),
  /** PGlite data directory (persistent), used only when DATABASE_URL is unset. */
  pgliteDataDir: str("PGLITE_DATA_DIR", "./data/pglite"),
  /** Port of the PGlite wire-protocol server on 127.0.0.1; 0 = pick a free one. */
  pglitePort: int("PGLITE_PORT", 0),
  /**
   * PGlite commits fsynced to disk (survive an OS crash / power cut). false = PGlite's own
   * fsync=off: faster, survives a killed process only; for throwaway data.
   */
  pgliteFsync: bool("PGLITE_FSYNC", true),
  /**
   * RecordBlobs transactions running at once (session-sharded lanes). At most pool - 1 (0 reads
   * as 1); PGlite always 1. One lane: fewer, bigger transactions cost PostgreSQL less per row.
   */
  recordLanes: int("METADATA_RECORD_LANES", 1),
  /** RecordBlobs items per transaction at most. */
  recordMaxBatch: int("METADATA_RECORD_MAX_BATCH", 128),
  /**
   * How long a gateway instance's heartbeat (RenewLeases) keeps the sessions it holds connected,
   * ms: is_connected turns false this long after a gateway dies. Several times the gateways'
   * GATEWAY_LEASE_RENEW_MS, so one late renewal does not flap it.
   */
  leaseTtlMs: int("METADATA_LEASE_TTL_MS", 3000),
  /** How long a graceful stop waits for running calls before forcing, ms. */
  shutdownGraceMs: int("METADATA_SHUTDOWN_GRACE_MS", 5000),
  logLevel: logLevel(),
};

export type MetadataConfig = Config<typeof metadataConfigShape>;

export function loadMetadataConfig(env?: Record<string, string | undefined>): MetadataConfig {
  return env ? loadEnv(metadataConfigShape, env) : loadEnv(metadataConfigShape);
}

/** The URL without its password, for logs. */
export function redactDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "<unparseable DATABASE_URL>";
  }
}
