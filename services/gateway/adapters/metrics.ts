/**
 * @module gateway/metrics
 * The gateway's Prometheus metrics, and the SessionEvents sink that feeds them (and the log).
 */
import type { Logger } from "../../shared/log";
import { Counter, Gauge, Histogram, LATENCY_BUCKETS_SECONDS, type Registry } from "../../shared/metrics";
import type { SessionEvents } from "../core/stream-session";

export function gatewayMetrics(registry: Registry) {
  return {
    chunks: new Counter({ name: "candid_gateway_chunks_total", help: "Audio chunks acked, by outcome (created or identical re-send).", labelNames: ["outcome"], registers: [registry] }),
    frames: new Counter({ name: "candid_gateway_frames_total", help: "Frames acked, by outcome (created or identical re-send).", labelNames: ["outcome"], registers: [registry] }),
    bytes: new Counter({ name: "candid_gateway_bytes_total", help: "Bytes of acked blobs, by kind.", labelNames: ["kind"], registers: [registry] }),
    errors: new Counter({ name: "candid_gateway_errors_total", help: "Errors reported to clients, by code.", labelNames: ["code"], registers: [registry] }),
    ackLatency: new Histogram({
      name: "candid_gateway_ack_latency_seconds",
      help: "Time from a blob's arrival to its ack (stored and recorded), by kind.",
      labelNames: ["kind"],
      buckets: LATENCY_BUCKETS_SECONDS,
      registers: [registry],
    }),
    connections: new Gauge({ name: "candid_gateway_connections", help: "Open media WebSocket connections.", registers: [registry] }),
    sessions: new Counter({ name: "candid_gateway_sessions_opened_total", help: "session_init accepted, by whether it resumed an existing session.", labelNames: ["resumed"], registers: [registry] }),
  };
}

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
