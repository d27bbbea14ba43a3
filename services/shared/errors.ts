/**
 * @module errors
 * The one error table of Candid. Every code a client, an operator or another service can see is
 * a row of proto/wire/errors.ts (its WebSocket behaviour, what a client does, its meaning); this
 * module adds what the other transports make of it:
 *  - `http`: the status of an HTTP answer carrying the code;
 *  - `grpc`: the gRPC status between services (the code itself travels in trailing metadata).
 * `ERRORS` is the whole table; its type requires an HTTP/gRPC row for every wire code, so the two
 * cannot drift. docs/errors.md renders it; errors.test.ts fails when the doc is out of date.
 *
 * One mapper per transport renders an error: `toErrorMessage` / `toCloseFrame` (WebSocket),
 * `toHttpError` (HTTP), and in grpc.ts `toGrpcError` (status) and `toItemError` (per-item result).
 * Each hides the text of INTERNAL: the caller logs its cause once, where it maps it.
 */
import { status } from "@grpc/grpc-js";
import {
  type ErrorCode,
  type ErrorMessage,
  isErrorCode,
  WIRE_ERRORS,
  WireError,
  type WireErrorSpec,
} from "../../proto/wire";

export type { ErrorCode };
export { isErrorCode };

export interface TransportSpec {
  readonly http: number;
  readonly grpc: status;
}

export interface ErrorSpec extends WireErrorSpec, TransportSpec {}

const TRANSPORT: Readonly<Record<ErrorCode, TransportSpec>> = {
  MALFORMED_BINARY_HEADER: { http: 400, grpc: status.INVALID_ARGUMENT },
  SESSION_NOT_INITIALIZED: { http: 409, grpc: status.FAILED_PRECONDITION },
  INVALID_SESSION_ID: { http: 400, grpc: status.INVALID_ARGUMENT },
  SESSION_TAKEN_OVER: { http: 409, grpc: status.ABORTED },
  INIT_TIMEOUT: { http: 408, grpc: status.DEADLINE_EXCEEDED },
  IDLE_TIMEOUT: { http: 408, grpc: status.DEADLINE_EXCEEDED },
  BUFFER_LIMIT_EXCEEDED: { http: 429, grpc: status.RESOURCE_EXHAUSTED },
  RATE_LIMITED: { http: 429, grpc: status.RESOURCE_EXHAUSTED },
  TOO_MANY_CONNECTIONS: { http: 503, grpc: status.UNAVAILABLE },
  ORIGIN_NOT_ALLOWED: { http: 403, grpc: status.PERMISSION_DENIED },
  TOKEN_INVALID: { http: 401, grpc: status.UNAUTHENTICATED },
  FORBIDDEN: { http: 403, grpc: status.PERMISSION_DENIED },
  TOO_MANY_SESSIONS: { http: 429, grpc: status.RESOURCE_EXHAUSTED },
  INVALID_JSON: { http: 400, grpc: status.INVALID_ARGUMENT },
  UNKNOWN_MESSAGE_TYPE: { http: 400, grpc: status.INVALID_ARGUMENT },
  INVALID_MESSAGE: { http: 400, grpc: status.INVALID_ARGUMENT },
  SESSION_MISMATCH: { http: 409, grpc: status.FAILED_PRECONDITION },
  SESSION_COMPLETED: { http: 409, grpc: status.FAILED_PRECONDITION },
  SESSION_NOT_FOUND: { http: 404, grpc: status.NOT_FOUND },
  INTERVIEW_SESSION_NOT_FOUND: { http: 404, grpc: status.NOT_FOUND },
  METADATA_MISSING: { http: 409, grpc: status.FAILED_PRECONDITION },
  TOO_MANY_PENDING: { http: 429, grpc: status.RESOURCE_EXHAUSTED },
  SIZE_MISMATCH: { http: 400, grpc: status.INVALID_ARGUMENT },
  BLOB_TOO_LARGE: { http: 413, grpc: status.INVALID_ARGUMENT },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, grpc: status.INVALID_ARGUMENT },
  INDEX_CONFLICT: { http: 409, grpc: status.ALREADY_EXISTS },
  CHECKSUM_MISMATCH: { http: 400, grpc: status.DATA_LOSS },
  UPSTREAM_UNAVAILABLE: { http: 503, grpc: status.UNAVAILABLE },
  STORAGE_FULL: { http: 507, grpc: status.RESOURCE_EXHAUSTED },
  ANALYSIS_CLAIM_LOST: { http: 409, grpc: status.FAILED_PRECONDITION },
  SESSION_NOT_SEALED: { http: 409, grpc: status.FAILED_PRECONDITION },
  SESSION_ALREADY_SEALED: { http: 409, grpc: status.ALREADY_EXISTS },
  RANGE_NOT_SATISFIABLE: { http: 416, grpc: status.OUT_OF_RANGE },
  LEGAL_HOLD: { http: 409, grpc: status.FAILED_PRECONDITION },
  ERASURE_CLAIM_LOST: { http: 409, grpc: status.FAILED_PRECONDITION },
  INTERNAL_TOKEN_INVALID: { http: 500, grpc: status.UNAUTHENTICATED },
  NOT_FOUND: { http: 404, grpc: status.NOT_FOUND },
  INTERNAL: { http: 500, grpc: status.INTERNAL },
  API_KEY_INVALID: { http: 401, grpc: status.UNAUTHENTICATED },
  // No gRPC call checks an origin; PERMISSION_DENIED is what it would be.
};

/** The whole table, by code, in the wire table's order. */
export const ERRORS: Readonly<Record<ErrorCode, ErrorSpec>> = Object.fromEntries(
  (Object.keys(WIRE_ERRORS) as ErrorCode[]).map((code) => [code, { ...WIRE_ERRORS[code], ...TRANSPORT[code] }]),
) as Record<ErrorCode, ErrorSpec>;

/**
 * Answers of the media endpoint (GET /ws/media-stream) to a request it does not upgrade: HTTP,
 * with a code of the table but a status of their own.
 */
export const ENDPOINT_ANSWERS = {
  UPGRADE_REQUIRED: { status: 426, code: "INVALID_MESSAGE", message: "expected a WebSocket upgrade", description: "The request is not a WebSocket upgrade." },
  SHUTTING_DOWN: { status: 503, code: "UPSTREAM_UNAVAILABLE", message: "shutting down", description: "The gateway is draining before it stops: connect again (to another replica)." },
  TOO_MANY_CONNECTIONS: { status: 503, code: "TOO_MANY_CONNECTIONS", message: "too many connections", description: "GATEWAY_MAX_CONNECTIONS connections are open in the gateway, or GATEWAY_MAX_CONNECTIONS_PER_IP from this client IP: connect again later." },
  ORIGIN_NOT_ALLOWED: { status: 403, code: "ORIGIN_NOT_ALLOWED", message: "origin not allowed", description: "The request carries an Origin header that is not in CORS_ALLOWED_ORIGINS." },
} as const satisfies Record<string, { status: number; code: ErrorCode; message: string; description: string }>;

export interface AppErrorOptions extends ErrorOptions {
  /**
   * Why, as a short fixed label for logs and metric labels only (`expired`, `owner_mismatch`...):
   * never sent to a client, never a token, a key or a claim value.
   */
  reason?: string;
}

export class AppError extends Error {
  override readonly name = "AppError";
  /** See AppErrorOptions.reason; undefined when the code says it all. */
  readonly reason: string | undefined;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    /** Extra fields for the client, e.g. { field: "chunk_index" }. Never payloads. */
    readonly details: Record<string, string | number> = {},
    options?: AppErrorOptions,
  ) {
    super(message ?? ERRORS[code].description, options);
    this.reason = options?.reason;
  }
  get spec(): ErrorSpec {
    return ERRORS[this.code];
  }
}

/**
 * Any thrown value as an AppError: codec refusals (WireError) keep their code and field; unknown
 * errors become INTERNAL with the original as `cause` (the caller logs it).
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof WireError) return new AppError(err.code, err.message, err.details.field ? { field: err.details.field } : {});
  return new AppError("INTERNAL", undefined, {}, { cause: err });
}

/** The text a client may see: INTERNAL's details stay on the server. */
export function publicMessage(e: AppError): string {
  return e.code === "INTERNAL" ? "internal error" : e.message;
}

/** WebSocket, or the body of an HTTP error: `{"type":"error","code","message"}` plus the error's details and `extra`. */
export function toErrorMessage(err: AppError, extra: Record<string, string | number> = {}): ErrorMessage {
  return { type: "error", code: err.code, message: publicMessage(err), ...err.details, ...extra };
}

/** WebSocket: the close frame that follows the error message, or null when the connection stays open. */
export function toCloseFrame(err: AppError): { code: number; reason: string } | null {
  const close = err.spec.close;
  return close === null ? null : { code: close.code, reason: err.code };
}

/** HTTP: the status and JSON body of an error answer. */
export function toHttpError(err: AppError): { status: number; body: ErrorMessage } {
  return { status: err.spec.http, body: { type: "error", code: err.code, message: publicMessage(err) } };
}

/** HTTP: one of the media endpoint's own answers. */
export function endpointAnswer(name: keyof typeof ENDPOINT_ANSWERS): { status: number; body: ErrorMessage } {
  const a = ENDPOINT_ANSWERS[name];
  return { status: a.status, body: { type: "error", code: a.code, message: a.message } };
}
