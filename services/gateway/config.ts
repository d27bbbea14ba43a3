/**
 * @module gateway/config
 * The gateway's configuration: every variable it reads, with its default and unit. main.ts reads
 * it once (loadEnvOrExit) and hands plain values to the adapters and the core.
 */
import { int, list, logLevel, secret, str } from "../shared/config";
import { MIN_INTERNAL_TOKEN_BYTES } from "../shared/grpc";
import { ABUSE_LIMIT_DEFAULTS as L } from "./core/limits";

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
  /** Origins allowed to call the HTTP API from a browser; "*" for any. */
  corsAllowedOrigins: list("CORS_ALLOWED_ORIGINS", ["*"]),
  /** How long shutdown waits for in-flight blobs, ms. */
  shutdownGraceMs: int("GATEWAY_SHUTDOWN_GRACE_MS", 10_000),
  /** After the 1001 closes at shutdown, how long the close frames get to leave before exit, ms. */
  shutdownCloseFlushMs: int("GATEWAY_SHUTDOWN_CLOSE_FLUSH_MS", 50),
  logLevel: logLevel(),
};
