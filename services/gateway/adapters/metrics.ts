/**
 * @module gateway/metrics
 * The gateway's Prometheus metrics (the one place they are declared), and the SessionEvents sink
 * that feeds them (and the log).
 */
import type { Logger } from "../../shared/log";
import { LATENCY_BUCKETS_SECONDS, counter, defineMetrics, gauge, histogram } from "../../shared/metrics";
import type { RegistryEvents } from "../core/registry";
import type { SessionEvents } from "../core/stream-session";

export const gatewayMetrics = defineMetrics("gateway", {
  chunks: counter("candid_gateway_chunks_total", "Audio chunks acked, by outcome (created or identical re-send).", { labelNames: ["outcome"] }),
  frames: counter("candid_gateway_frames_total", "Frames acked, by outcome (created or identical re-send).", { labelNames: ["outcome"] }),
  bytes: counter("candid_gateway_bytes_total", "Bytes of acked blobs, by kind.", { labelNames: ["kind"] }),
  errors: counter("candid_gateway_errors_total", "Errors reported to clients, by code.", { labelNames: ["code"] }),
  ackLatency: histogram("candid_gateway_ack_latency_seconds", "Time from a blob's arrival to its ack (stored and recorded), by kind.", {
    labelNames: ["kind"],
    buckets: LATENCY_BUCKETS_SECONDS,
  }),
  connections: gauge("candid_gateway_connections", "Open media WebSocket connections."),
  sessions: counter("candid_gateway_sessions_opened_total", "session_init accepted, by whether it resumed an existing session.", { labelNames: ["resumed"] }),
  limitRefusals: counter(
    "candid_gateway_limit_refusals_total",
    "Refusals by an abuse limit (docs/security.md): origin, connections, connections_per_ip, init_timeout, idle_timeout, message_rate, " +
      "buffered_bytes (every 4429 close) and total_buffered_bytes (reservations the gateway-wide budget refused).",
    { labelNames: ["limit"] },
  ),
  bufferedBytes: gauge("candid_gateway_buffered_bytes", "Bytes received and not yet acked, refused or handled, all connections together."),
  authRefusals: counter(
    "candid_gateway_auth_refusals_total",
    "Requests and session_inits refused by access control, by code (TOKEN_INVALID, FORBIDDEN, API_KEY_INVALID, ORIGIN_NOT_ALLOWED, TOO_MANY_SESSIONS) and a fixed reason label.",
    { labelNames: ["code", "reason"] },
  ),
  tokensMinted: counter("candid_gateway_tokens_minted_total", "Upload tokens minted through POST /interview-sessions/{id}/upload-tokens."),
  upstreamCalls: histogram(
    "candid_gateway_upstream_call_duration_seconds",
    "The gateway's calls to storage and metadata (adapters/timed-upstreams.ts), by upstream, port method and outcome (ok, or the error code).",
    { labelNames: ["upstream", "method", "outcome"], buckets: LATENCY_BUCKETS_SECONDS },
  ),
  sessionsActive: gauge("candid_gateway_sessions_active", "Media sessions whose lease this gateway holds (one per connection past session_init): the HPA's sessions metric."),
  takeovers: counter(
    "candid_gateway_session_takeovers_total",
    "Connections closed 4409 because another connection took their session: on this gateway (local) or another replica (remote, learnt from a lease renewal).",
    { labelNames: ["where"] },
  ),
  leaseCallFailures: counter("candid_gateway_lease_call_failures_total", "RenewLeases / ReleaseSession calls that failed (metadata unreachable), by call.", { labelNames: ["call"] }),
});

export type GatewayMetrics = ReturnType<typeof gatewayMetrics>;

/** The session registry's events (core/registry.ts), counted here and logged. */
export function leaseEvents(m: GatewayMetrics, log: Logger): RegistryEvents {
  return {
    held: (count) => m.sessionsActive.set(count),
    takenOver: (where) => {
      m.takeovers.inc({ where });
      log.info("session taken over", { where });
    },
    failed: (call, err) => {
      m.leaseCallFailures.inc({ call });
      log.warn("lease call failed", { call, err });
    },
  };
}

/** The codes candid_gateway_auth_refusals_total counts. */
const ACCESS_CODES: ReadonlySet<string> = new Set(["TOKEN_INVALID", "FORBIDDEN", "API_KEY_INVALID", "ORIGIN_NOT_ALLOWED", "TOO_MANY_SESSIONS"]);

/** What the HTTP API reports (adapters/http.ts), counted here and logged without any credential. */
export interface AccessEvents {
  /** A request refused by access control; `reason` is the AppError's fixed label. */
  refused(code: string, reason: string | undefined, route: string): void;
  minted(): void;
}

export function accessEvents(m: GatewayMetrics, log: Logger): AccessEvents {
  return {
    refused(code, reason, route) {
      m.authRefusals.inc({ code, reason: reason ?? "none" });
      log.info("request refused", { code, reason, route });
    },
    minted() {
      m.tokensMinted.inc();
    },
  };
}

export function sessionEvents(m: GatewayMetrics, log: Logger): SessionEvents {
  return {
    acked(kind, bytes, latencyMs, outcome) {
      (kind === "audio" ? m.chunks : m.frames).inc({ outcome });
      m.bytes.inc({ kind }, bytes);
      m.ackLatency.observe({ kind }, latencyMs / 1000);
    },
    rejected(code, reason) {
      m.errors.inc({ code });
      if (code === "BUFFER_LIMIT_EXCEEDED") m.limitRefusals.inc({ limit: "buffered_bytes" });
      if (ACCESS_CODES.has(code)) {
        m.authRefusals.inc({ code, reason: reason ?? "none" });
        log.info("session_init refused", { code, reason });
      }
    },
    internal(err, context) {
      log.error("internal error", { ...context, err });
    },
    opened(sessionId, resumed) {
      m.sessions.inc({ resumed: String(resumed) });
      log.info("session opened", { sessionId, resumed });
    },
    completed(sessionId, missing) {
      log.info("session completed", { sessionId, missing });
    },
  };
}
