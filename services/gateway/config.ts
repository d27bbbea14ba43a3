/**
 * @module gateway/config
 * The gateway's configuration: every variable it reads, with its default and unit. main.ts reads
 * it once (configOrExit(loadGatewayConfig)) and hands plain values to the adapters and the core.
 *
 * The access-control secrets are required: CANDID_API_KEYS (operator keys) and
 * CANDID_TOKEN_SECRETS (upload-token HMAC secrets, the first signs), each a comma list of values
 * of at least 32 bytes (core/api-keys.ts parses both). Without them the gateway refuses to start
 * (exit 2); `npm start` generates them. Problems name a variable and an entry's position, never
 * a value.
 */
import { ConfigError, type Config, int, list, loadEnv, logLevel, optStr, secret, str } from "../shared/config";
import { MIN_INTERNAL_TOKEN_BYTES } from "../shared/grpc";
import { parseApiKeys, parseSecretList } from "./core/api-keys";
import { ABUSE_LIMIT_DEFAULTS as L } from "./core/limits";
import { DEFAULT_TOKEN_TTL_S, MAX_TOKEN_TTL_S } from "./core/tokens";

export const gatewayConfigShape = {
  port: int("GATEWAY_PORT", 8000),
  host: str("GATEWAY_HOST", "0.0.0.0"),
  storageAddr: str("STORAGE_ADDR", "127.0.0.1:50051"),
  metadataAddr: str("METADATA_ADDR", "127.0.0.1:50052"),
  /** Carried by every gRPC call to storage and metadata (>= 32 bytes). */
  internalToken: secret("CANDID_INTERNAL_TOKEN", MIN_INTERNAL_TOKEN_BYTES),
  /** Largest audio chunk, bytes (8 MiB). */
  maxAudioBytes: int("GATEWAY_MAX_AUDIO_BYTES", 8 * 1024 * 1024),
  /** Largest frame, bytes (2 MiB). */
  maxFrameBytes: int("GATEWAY_MAX_FRAME_BYTES", 2 * 1024 * 1024),
  /** Metadata messages waiting for their blobs, per connection. */
  maxPending: int("GATEWAY_MAX_PENDING", 256),
  /** How long announced metadata waits for its blob, ms. */
  pendingTtlMs: int("GATEWAY_PENDING_TTL_MS", 120_000),
  /** Blobs being stored at once, per connection. */
  maxInFlight: int("GATEWAY_MAX_IN_FLIGHT", 64),
  /** Bytes of blobs not yet acked that one connection may have sent (64 MiB). */
  maxBufferedBytes: int("GATEWAY_MAX_BUFFERED_BYTES", 64 * 1024 * 1024),
  // Abuse limits (docs/security.md; core/limits.ts).
  /** Open media WebSockets in the whole gateway; more: the upgrade is answered 503 TOO_MANY_CONNECTIONS. */
  maxConnections: int("GATEWAY_MAX_CONNECTIONS", L.maxConnections),
  /** Open media WebSockets per client IP; more: 503 TOO_MANY_CONNECTIONS. */
  maxConnectionsPerIp: int("GATEWAY_MAX_CONNECTIONS_PER_IP", L.maxConnectionsPerIp),
  /** Time a connection has for a successful session_init, ms; later: close 4408 INIT_TIMEOUT. */
  initTimeoutMs: int("GATEWAY_INIT_TIMEOUT_MS", L.initTimeoutMs),
  /** Time without a protocol message (pings do not count), ms; then: close 4410 IDLE_TIMEOUT. */
  idleTimeoutMs: int("GATEWAY_IDLE_TIMEOUT_MS", L.idleTimeoutMs),
  /** Sustained messages (text and binary) per connection per second; more: close 4430 RATE_LIMITED. */
  maxMessagesPerS: int("GATEWAY_MAX_MESSAGES_PER_S", L.maxMessagesPerS),
  /** Messages one connection may send at once above the sustained rate. */
  messageBurst: int("GATEWAY_MESSAGE_BURST", L.messageBurst),
  /** Bytes received and not yet acked or refused, all connections together (1 GiB); more: close 4429. */
  maxTotalBufferedBytes: int("GATEWAY_MAX_TOTAL_BUFFERED_BYTES", L.maxTotalBufferedBytes),
  /** Parallel gRPC streams to each upstream service, each on its own HTTP/2 connection. */
  upstreamStreams: int("GATEWAY_UPSTREAM_STREAMS", 4),
  /** Deadline of one upstream call, ms. */
  upstreamTimeoutMs: int("GATEWAY_UPSTREAM_TIMEOUT_MS", 10_000),
  /** Items per upstream stream message at most (the items of one event-loop turn travel together). */
  upstreamBatchItems: int("GATEWAY_UPSTREAM_BATCH_ITEMS", 64),
  /** Bytes per upstream stream message at most (4 MiB); a bigger blob travels alone. */
  upstreamBatchBytes: int("GATEWAY_UPSTREAM_BATCH_BYTES", 4 * 1024 * 1024),
  /** Bytes Bun may queue for one WebSocket before it drops a send and the gateway closes 1013 (16 MiB). */
  wsBackpressureLimitBytes: int("GATEWAY_WS_BACKPRESSURE_LIMIT_BYTES", 16 * 1024 * 1024),
  /** A WebSocket silent this long is closed, seconds (Bun pings it meanwhile); at most 960, 0 = never. */
  wsIdleTimeoutSeconds: int("GATEWAY_WS_IDLE_TIMEOUT_SECONDS", 120),
  /** Largest HTTP request body (POST /interview-sessions), bytes (64 KiB). */
  maxRequestBodyBytes: int("GATEWAY_MAX_REQUEST_BODY_BYTES", 64 * 1024),
  /**
   * Origins allowed to call the HTTP API from a browser and to open the WebSocket (an upgrade
   * with another Origin is answered 403). Empty (the default) allows none; "*" allows any and
   * must be asked for. Requests without an Origin (servers, curl) are not affected.
   */
  corsAllowedOrigins: list("CORS_ALLOWED_ORIGINS", []),
  /** Port of the ops HTTP server (/metrics, /healthz, /readyz), off the public port; 0 = a free one. */
  opsPort: int("GATEWAY_OPS_PORT", 9100),
  opsHost: str("GATEWAY_OPS_HOST", "0.0.0.0"),
  /** Operator API keys, comma-separated, each 32+ bytes (required; validated by loadGatewayConfig). */
  apiKeysRaw: optStr("CANDID_API_KEYS"),
  /** Upload-token HMAC secrets, comma-separated, each 32+ bytes; the first signs (required). */
  tokenSecretsRaw: optStr("CANDID_TOKEN_SECRETS"),
  /** Lifetime of an upload token when the request names none, s (4 h). */
  tokenDefaultTtlS: int("GATEWAY_TOKEN_DEFAULT_TTL_S", DEFAULT_TOKEN_TTL_S),
  /** Longest lifetime a request may ask for, s (24 h, also the most a token may ever have). */
  tokenMaxTtlS: int("GATEWAY_TOKEN_MAX_TTL_S", MAX_TOKEN_TTL_S),
  /** Media sessions open at once under one upload token (its jti); more: close 4431 TOO_MANY_SESSIONS. */
  maxSessionsPerToken: int("GATEWAY_MAX_SESSIONS_PER_TOKEN", 4),
  // Fleet (docs/deploy.md, "High availability"): session leases and rolling restarts.
  /**
   * The prefix of this process's name in the session leases (metadata gateway_instances): the
   * name is `<GATEWAY_INSTANCE_ID>-<pid>-<random>`, unique per process even when a container
   * restarts in the same pod. The chart sets the pod name; unset: the hostname.
   */
  instanceId: optStr("GATEWAY_INSTANCE_ID"),
  /**
   * How often the gateway renews its leases and learns which sessions another replica took over,
   * ms (such a connection is closed 4409 SESSION_TAKEN_OVER within about this long). Well under
   * the metadata service's METADATA_LEASE_TTL_MS.
   */
  leaseRenewMs: int("GATEWAY_LEASE_RENEW_MS", 500),
  /**
   * On SIGTERM: /readyz answers 503 at once, and the gateway keeps serving (new connections too)
   * for this long, ms, while the load balancer takes it out; then it drains. In Kubernetes the
   * preStop hook already waits, so 0.
   */
  drainDelayMs: int("GATEWAY_DRAIN_DELAY_MS", 0),
  /** How long shutdown waits for in-flight blobs (their acks), ms; then sockets close 1012. */
  shutdownGraceMs: int("GATEWAY_SHUTDOWN_GRACE_MS", 10_000),
  /** After the 1012 closes at shutdown, how long the close frames get to leave before exit, ms. */
  shutdownCloseFlushMs: int("GATEWAY_SHUTDOWN_CLOSE_FLUSH_MS", 50),
  /** Review: bytes of stitched session audio kept in memory (LRU); 0 keeps none. */
  reviewAudioCacheBytes: int("GATEWAY_REVIEW_AUDIO_CACHE_BYTES", 256 * 1024 * 1024),
  /** Review: worker threads that decode, stitch and encode session audio (off the event loop). */
  stitchWorkers: int("GATEWAY_STITCH_WORKERS", 1),
  logLevel: logLevel(),
};

export type GatewayConfig = Omit<Config<typeof gatewayConfigShape>, "apiKeysRaw" | "tokenSecretsRaw"> & {
  /** CANDID_API_KEYS, parsed: at least one. */
  readonly apiKeys: readonly string[];
  /** CANDID_TOKEN_SECRETS, parsed, in order (the first signs): at least one. */
  readonly tokenSecrets: readonly string[];
};

/** Reads and validates everything; throws ConfigError listing every problem at once. */
export function loadGatewayConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  const problems: string[] = [];
  let base: Config<typeof gatewayConfigShape> | null = null;
  try {
    base = loadEnv(gatewayConfigShape, env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems.push(...e.problems);
  }
  const keys = parseApiKeys(env.CANDID_API_KEYS);
  const secrets = parseSecretList("CANDID_TOKEN_SECRETS", env.CANDID_TOKEN_SECRETS);
  problems.push(...keys.errors, ...secrets.errors);
  if (base) {
    if (base.tokenMaxTtlS < 1 || base.tokenMaxTtlS > MAX_TOKEN_TTL_S) problems.push(`GATEWAY_TOKEN_MAX_TTL_S must be in [1, ${MAX_TOKEN_TTL_S}]`);
    if (base.tokenDefaultTtlS < 1 || base.tokenDefaultTtlS > base.tokenMaxTtlS) problems.push("GATEWAY_TOKEN_DEFAULT_TTL_S must be at least 1 and at most GATEWAY_TOKEN_MAX_TTL_S");
    if (base.maxSessionsPerToken < 1) problems.push("GATEWAY_MAX_SESSIONS_PER_TOKEN must be at least 1");
    if (base.stitchWorkers < 1 || base.stitchWorkers > 16) problems.push("GATEWAY_STITCH_WORKERS must be in [1, 16]");
    if (base.leaseRenewMs < 50) problems.push("GATEWAY_LEASE_RENEW_MS must be at least 50");
    if (base.instanceId !== undefined && (base.instanceId.length > 200 || !/^[\x21-\x7e]+$/.test(base.instanceId))) {
      problems.push("GATEWAY_INSTANCE_ID must be 1 to 200 printable ASCII characters without spaces");
    }
  }
  if (problems.length || !base) throw new ConfigError(problems);
  const { apiKeysRaw: _k, tokenSecretsRaw: _s, ...rest } = base;
  return Object.freeze({ ...rest, apiKeys: keys.values, tokenSecrets: secrets.values });
}
