/**
 * @module gateway/metrics
 * The gateway's Prometheus metrics (the one place they are declared), and the SessionEvents sink
 * that feeds them (and the log).
 */
import type { Logger } from "../../shared/log";
import { LATENCY_BUCKETS_SECONDS, counter, defineMetrics, gauge, histogram } from "../../shared/metrics";
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
});

export type GatewayMetrics = ReturnType<typeof gatewayMetrics>;

export function sessionEvents(m: GatewayMetrics, log: Logger): SessionEvents {
  return {
    acked(kind, bytes, latencyMs, outcome) {
      (kind === "audio" ? m.chunks : m.frames).inc({ outcome });
      m.bytes.inc({ kind }, bytes);
      m.ackLatency.observe({ kind }, latencyMs / 1000);
    },
    rejected(code) {
      m.errors.inc({ code });
      if (code === "BUFFER_LIMIT_EXCEEDED") m.limitRefusals.inc({ limit: "buffered_bytes" });
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
