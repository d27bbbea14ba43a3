/**
 * @module gateway/metrics
 * The gateway's Prometheus metrics (the one place they are declared), and the SessionEvents sink
 * that feeds them (and the log).
 */
import type { Logger } from "../../shared/log";
import { ERRORS, type ErrorCode } from "../../shared/errors";
import { LATENCY_BUCKETS_SECONDS, counter, defineMetrics, gauge, histogram, labelSets } from "../../shared/metrics";
import type { ApiKeyInvalidReason } from "../core/api-keys";
import type { ForbiddenReason } from "../core/authorize";
import type { RegistryEvents } from "../core/registry";
import type { SessionEvents } from "../core/stream-session";
import type { TokenInvalidReason } from "../core/tokens";
import type { LimitName } from "./connection-guard";
import { METADATA_CALLS, STORAGE_CALLS } from "./timed-upstreams";

const KINDS = ["audio", "frame"];
/** Outcomes of an ack (WriteOutcome minus conflict, which is refused with INDEX_CONFLICT). */
const ACK_OUTCOMES = ["created", "identical"];
/** Every code of the error table: the gateway relays any of them to a client. */
const ALL_CODES = Object.keys(ERRORS) as ErrorCode[];
/**
 * Every value of a union of strings, as a list: a Record over the union fails to compile when a
 * member is missing, so a new limit or reason starts at 0 like the others.
 */
const every = <T extends string>(members: Record<T, true>) => Object.keys(members) as T[];
const LIMITS = every<LimitName>({ origin: true, connections: true, connections_per_ip: true, init_timeout: true, idle_timeout: true, message_rate: true, buffered_bytes: true, total_buffered_bytes: true });
const TOKEN_REASONS = every<TokenInvalidReason>({ missing: true, malformed: true, bad_signature: true, alg: true, expired: true, not_yet_valid: true, audience: true, issuer: true, unknown_kid: true, claims: true });
const FORBIDDEN_REASONS = [
  ...every<ForbiddenReason>({ interview_mismatch: true, user_mismatch: true, session_mismatch: true, owner_mismatch: true }),
  // Review reads a bearer may not make (answered 404): an upload token on media, a reviewer outside its scope.
  "upload_token",
  "reviewer_scope",
];
const API_KEY_REASONS = every<ApiKeyInvalidReason>({ missing: true, malformed: true, wrong: true });
/** The (code, reason) pairs access control refuses with. */
const AUTH_REFUSALS = [
  ...labelSets({ code: ["TOKEN_INVALID"], reason: TOKEN_REASONS }),
  ...labelSets({ code: ["FORBIDDEN"], reason: FORBIDDEN_REASONS }),
  ...labelSets({ code: ["API_KEY_INVALID"], reason: API_KEY_REASONS }),
  { code: "ORIGIN_NOT_ALLOWED", reason: "cors" },
  { code: "TOO_MANY_SESSIONS", reason: "jti" },
];

export const gatewayMetrics = defineMetrics("gateway", {
  chunks: counter("candid_gateway_chunks_total", "Audio chunks acked, by outcome (created or identical re-send).", { labelNames: ["outcome"], initial: labelSets({ outcome: ACK_OUTCOMES }) }),
  frames: counter("candid_gateway_frames_total", "Frames acked, by outcome (created or identical re-send).", { labelNames: ["outcome"], initial: labelSets({ outcome: ACK_OUTCOMES }) }),
  bytes: counter("candid_gateway_bytes_total", "Bytes of acked blobs, by kind.", { labelNames: ["kind"], initial: labelSets({ kind: KINDS }) }),
  errors: counter("candid_gateway_errors_total", "Errors reported to clients, by code.", { labelNames: ["code"], initial: labelSets({ code: ALL_CODES }) }),
  ackLatency: histogram("candid_gateway_ack_latency_seconds", "Time from a blob's arrival to its ack (stored and recorded), by kind.", {
    labelNames: ["kind"],
    initial: labelSets({ kind: KINDS }),
    buckets: LATENCY_BUCKETS_SECONDS,
  }),
  connections: gauge("candid_gateway_connections", "Open media WebSocket connections."),
  sessions: counter("candid_gateway_sessions_opened_total", "session_init accepted, by whether it resumed an existing session.", { labelNames: ["resumed"], initial: labelSets({ resumed: ["true", "false"] }) }),
  limitRefusals: counter(
    "candid_gateway_limit_refusals_total",
    "Refusals by an abuse limit (docs/security.md): origin, connections, connections_per_ip, init_timeout, idle_timeout, message_rate, " +
      "buffered_bytes (every 4429 close) and total_buffered_bytes (reservations the gateway-wide budget refused).",
    { labelNames: ["limit"], initial: labelSets({ limit: LIMITS }) },
  ),
  bufferedBytes: gauge("candid_gateway_buffered_bytes", "Bytes received and not yet acked, refused or handled, all connections together."),
  authRefusals: counter(
    "candid_gateway_auth_refusals_total",
    "Requests and session_inits refused by access control, by code (TOKEN_INVALID, FORBIDDEN, API_KEY_INVALID, ORIGIN_NOT_ALLOWED, TOO_MANY_SESSIONS) and a fixed reason label.",
    { labelNames: ["code", "reason"], initial: AUTH_REFUSALS },
  ),
  tokensMinted: counter("candid_gateway_tokens_minted_total", "Upload tokens minted through POST /interview-sessions/{id}/upload-tokens."),
  upstreamCalls: histogram(
    "candid_gateway_upstream_call_duration_seconds",
    "The gateway's calls to storage and metadata (adapters/timed-upstreams.ts), by upstream, port method and outcome (ok, or the error code).",
    {
      labelNames: ["upstream", "method", "outcome"],
      initial: [
        ...labelSets({ upstream: ["storage"], method: Object.keys(STORAGE_CALLS), outcome: ["ok"] }),
        ...labelSets({ upstream: ["metadata"], method: Object.keys(METADATA_CALLS), outcome: ["ok"] }),
      ],
      buckets: LATENCY_BUCKETS_SECONDS,
    },
  ),
  sessionsActive: gauge("candid_gateway_sessions_active", "Media sessions whose lease this gateway holds (one per connection past session_init): the HPA's sessions metric."),
  takeovers: counter(
    "candid_gateway_session_takeovers_total",
    "Connections closed 4409 because another connection took their session: on this gateway (local) or another replica (remote, learnt from a lease renewal).",
    { labelNames: ["where"], initial: labelSets({ where: ["local", "remote"] }) },
  ),
  seals: counter("candid_gateway_seals_total", "Sessions sealed at session_complete (manifest stored, its hash recorded), by outcome (sealed, error: the manifest route seals later).", {
    labelNames: ["outcome"],
    initial: labelSets({ outcome: ["sealed", "error"] }),
  }),
  stitchSeconds: histogram("candid_gateway_stitch_duration_seconds", "Building one session's stitched review audio (read, decode, stitch, encode).", { buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] }),
  stitchCache: counter("candid_gateway_stitch_cache_total", "Review audio requests by cache result (hit: served from memory; miss: stitched).", { labelNames: ["result"], initial: labelSets({ result: ["hit", "miss"] }) }),
  leaseCallFailures: counter("candid_gateway_lease_call_failures_total", "RenewLeases / ReleaseSession calls that failed (metadata unreachable), by call.", { labelNames: ["call"], initial: labelSets({ call: ["renew", "release"] }) }),
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
