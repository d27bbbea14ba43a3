/**
 * @module storage/config
 * Every setting of the storage service, read once at start-up by main.ts.
 *
 * | variable               | default           | meaning                                              |
 * |------------------------|-------------------|------------------------------------------------------|
 * | STORAGE_HOST           | 0.0.0.0           | bind address of the ops port and the default gRPC one|
 * | STORAGE_GRPC_ADDR      | STORAGE_HOST:50051| gRPC listen address (port 0 picks a free one)        |
 * | STORAGE_METRICS_PORT   | 9101              | HTTP port of /metrics /healthz /readyz (0 = free)    |
 * | CANDID_INTERNAL_TOKEN  | (required)        | >= 32 bytes; every gRPC call but health must carry it|
 * | STORAGE_BACKEND        | fs                | fs (local disk) or s3                                |
 * | MEDIA_STORAGE_DIR      | ./media_storage   | fs root folder (relative to the working folder)      |
 * | STORAGE_FS_SYNC        | auto              | fs durability: syncfs group commit, or fsync per file|
 * | STORAGE_VOLUME_SAMPLE_MS | 5000            | fs: statfs of the media volume every ms (0 = never)  |
 * | S3_BUCKET              | (none)            | required when STORAGE_BACKEND=s3                     |
 * | S3_PREFIX              | (none)            | key prefix inside the bucket                         |
 * | S3_ENDPOINT            | (none = AWS)      | e.g. http://minio:9000                               |
 * | S3_REGION              | us-east-1         |                                                      |
 * | S3_FORCE_PATH_STYLE    | true              | path-style URLs (needed by most non-AWS servers)     |
 * | S3_ACCESS_KEY_ID       | (none)            | with S3_SECRET_ACCESS_KEY; else SDK credential chain |
 * | S3_SECRET_ACCESS_KEY   | (none)            |                                                      |
 * | STORAGE_SHUTDOWN_GRACE_MS | 10000          | SIGTERM: how long running calls may finish, ms       |
 * | STORAGE_TEMP_GRACE_MS  | 3600000           | fs: temp files older than this are crash leftovers   |
 * | STORAGE_TEMP_SWEEP_INTERVAL_MS | 3600000   | fs: pause between temp sweeps (one at start), ms; 0 = at start only |
 * | LOG_LEVEL              | info              | debug, info, warn or error                           |
 */
import { ConfigError, bool, int, loadEnv, logLevel, oneOf, optStr, secret, str } from "../shared/config";
import { MIN_INTERNAL_TOKEN_BYTES } from "../shared/grpc";

export const storageConfigShape = {
  /** Bind address: 0.0.0.0 in a container, 127.0.0.1 under `npm start`. */
  host: str("STORAGE_HOST", "0.0.0.0"),
  grpcAddr: (env: Record<string, string | undefined>) => str("STORAGE_GRPC_ADDR", `${env.STORAGE_HOST || "0.0.0.0"}:50051`)(env),
  metricsPort: int("STORAGE_METRICS_PORT", 9101),
  internalToken: secret("CANDID_INTERNAL_TOKEN", MIN_INTERNAL_TOKEN_BYTES),
  backend: oneOf("STORAGE_BACKEND", ["fs", "s3"] as const, "fs"),
  mediaDir: str("MEDIA_STORAGE_DIR", "./media_storage"),
  /** fs durability: auto (syncfs group commit where available), syncfs, or fsync (per file). */
  fsSync: oneOf("STORAGE_FS_SYNC", ["auto", "syncfs", "fsync"] as const, "auto"),
  /** fs: how often the media volume's free bytes are sampled (statfs) for the metrics, ms; 0 = never. */
  volumeSampleMs: int("STORAGE_VOLUME_SAMPLE_MS", 5000),
  s3Bucket: optStr("S3_BUCKET"),
  s3Prefix: optStr("S3_PREFIX"),
  s3Endpoint: optStr("S3_ENDPOINT"),
  s3Region: str("S3_REGION", "us-east-1"),
  s3ForcePathStyle: bool("S3_FORCE_PATH_STYLE", true),
  s3AccessKeyId: optStr("S3_ACCESS_KEY_ID"),
  s3SecretAccessKey: optStr("S3_SECRET_ACCESS_KEY"),
  /** How long a graceful stop waits for running calls before forcing, ms. */
  shutdownGraceMs: int("STORAGE_SHUTDOWN_GRACE_MS", 10_000),
  /** fs: a temp file (".<name>.<12 hex>.tmp") last modified longer ago than this, ms, is a crash leftover. */
  tempGraceMs: int("STORAGE_TEMP_GRACE_MS", 3_600_000),
  /** fs: pause between two sweeps of every session folder for such files, ms; 0 = only the one at start. */
  tempSweepIntervalMs: int("STORAGE_TEMP_SWEEP_INTERVAL_MS", 3_600_000),
  logLevel: logLevel(),
};

export type StorageConfig = ReturnType<typeof loadEnv<typeof storageConfigShape>>;

/**
 * loadEnv plus the rules that span several variables. Throws one ConfigError listing every
 * problem (including those loadEnv found).
 */
export function loadStorageConfig(env: Record<string, string | undefined> = process.env): StorageConfig {
  const problems: string[] = [];
  let config: StorageConfig | undefined;
  try {
    config = loadEnv(storageConfigShape, env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems.push(...e.problems);
  }
  const backend = config?.backend ?? env.STORAGE_BACKEND;
  if (backend === "s3" && !env.S3_BUCKET) problems.push("S3_BUCKET is required when STORAGE_BACKEND=s3");
  if (Boolean(env.S3_ACCESS_KEY_ID) !== Boolean(env.S3_SECRET_ACCESS_KEY)) {
    problems.push("S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together (or neither, for the SDK's default credential chain)");
  }
  if (config && config.tempGraceMs < 1) problems.push("STORAGE_TEMP_GRACE_MS must be at least 1");
  if (config && config.tempSweepIntervalMs < 0) problems.push("STORAGE_TEMP_SWEEP_INTERVAL_MS must be 0 or more");
  if (problems.length || !config) throw new ConfigError(problems);
  return config;
}
