/**
 * @module errors
 * The one error table of Candid. Every code a client, an operator or another service can see is
 * listed here, with what each transport makes of it:
 *  - `ws`: the WebSocket close code when the error makes the stream meaningless, or 0 when the
 *    gateway answers `{"type":"error",...}` and keeps the connection open;
 *  - `http`: the status of an HTTP answer carrying the code;
 *  - `grpc`: the gRPC status between services (the code itself travels in trailing metadata).
 * docs/errors.md renders this table; errors.test.ts fails when the two drift apart.
 */
import { status } from "@grpc/grpc-js";

export interface ErrorSpec {
  readonly ws: number;
  readonly http: number;
  readonly grpc: status;
  readonly description: string;
}

export const ERRORS = {
  // --- close the connection: the stream cannot be interpreted any further ---
  MALFORMED_BINARY_HEADER: { ws: 4400, http: 400, grpc: status.INVALID_ARGUMENT, description: "A binary frame is shorter than its 41-byte header, has a type other than 'a' or 'f', or its session id is not a canonical UUID." },
  SESSION_NOT_INITIALIZED: { ws: 4401, http: 409, grpc: status.FAILED_PRECONDITION, description: "Media metadata, a blob or session_complete arrived before a successful session_init." },
  INVALID_SESSION_ID: { ws: 4402, http: 400, grpc: status.INVALID_ARGUMENT, description: "A session_id is not a canonical lowercase UUID (8-4-4-4-12 hex digits)." },
  SESSION_TAKEN_OVER: { ws: 4409, http: 409, grpc: status.ABORTED, description: "Another connection sent session_init for this session; the newest connection wins." },
  BUFFER_LIMIT_EXCEEDED: { ws: 4429, http: 429, grpc: status.RESOURCE_EXHAUSTED, description: "More than GATEWAY_MAX_BUFFERED_BYTES (64 MiB) of blobs arrived without waiting for their acks; a client must keep a send window." },
  // --- answer with an error message; the connection stays usable ---
  INVALID_JSON: { ws: 0, http: 400, grpc: status.INVALID_ARGUMENT, description: "A text frame is not valid JSON or not a JSON object." },
  UNKNOWN_MESSAGE_TYPE: { ws: 0, http: 400, grpc: status.INVALID_ARGUMENT, description: "The `type` field is missing or not one of the protocol's message types." },
  INVALID_MESSAGE: { ws: 0, http: 400, grpc: status.INVALID_ARGUMENT, description: "A field is missing or malformed (integers must be non-negative integers, timestamps ISO 8601); `field` names it." },
  SESSION_MISMATCH: { ws: 0, http: 409, grpc: status.FAILED_PRECONDITION, description: "A message or binary header names a different session than this connection's, or session_init repeats with other details." },
  SESSION_COMPLETED: { ws: 0, http: 409, grpc: status.FAILED_PRECONDITION, description: "The session was already completed; it accepts no more media." },
  SESSION_NOT_FOUND: { ws: 0, http: 404, grpc: status.NOT_FOUND, description: "No media session has this id." },
  INTERVIEW_SESSION_NOT_FOUND: { ws: 0, http: 404, grpc: status.NOT_FOUND, description: "session_init names an interview_session_id that does not exist." },
  METADATA_MISSING: { ws: 0, http: 409, grpc: status.FAILED_PRECONDITION, description: "A blob arrived without its audio_metadata / frame_metadata (or that metadata expired); send the metadata, then the blob." },
  TOO_MANY_PENDING: { ws: 0, http: 429, grpc: status.RESOURCE_EXHAUSTED, description: "Too many metadata messages are waiting for their blobs on this connection; wait for acks." },
  SIZE_MISMATCH: { ws: 0, http: 400, grpc: status.INVALID_ARGUMENT, description: "The blob's length differs from the `size` its metadata announced." },
  BLOB_TOO_LARGE: { ws: 0, http: 413, grpc: status.INVALID_ARGUMENT, description: "The announced or actual size exceeds the limit (audio 8 MiB, frame 2 MiB by default)." },
  UNSUPPORTED_MEDIA_TYPE: { ws: 0, http: 415, grpc: status.INVALID_ARGUMENT, description: "Audio is not WebM (EBML magic) or MP4 (`ftyp` box), or a frame is not a JPEG (FF D8 FF)." },
  INDEX_CONFLICT: { ws: 0, http: 409, grpc: status.ALREADY_EXISTS, description: "This index is already stored with different bytes; the stored blob is kept." },
  CHECKSUM_MISMATCH: { ws: 0, http: 400, grpc: status.DATA_LOSS, description: "The bytes received by the storage service do not match their SHA-256." },
  UPSTREAM_UNAVAILABLE: { ws: 0, http: 503, grpc: status.UNAVAILABLE, description: "The storage or metadata service did not answer in time; nothing was acked, send the item again." },
  INTERNAL_TOKEN_INVALID: { ws: 0, http: 500, grpc: status.UNAUTHENTICATED, description: "An internal gRPC call arrived without the internal token (CANDID_INTERNAL_TOKEN), or with a wrong one; the gateway and the reaper treat it as INTERNAL (a misconfiguration, never sent to a browser)." },
  NOT_FOUND: { ws: 0, http: 404, grpc: status.NOT_FOUND, description: "No such route or blob." },
  INTERNAL: { ws: 0, http: 500, grpc: status.INTERNAL, description: "An unexpected failure; it is logged on the server and its details are not sent." },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;

export class AppError extends Error {
  override readonly name = "AppError";
  constructor(
    readonly code: ErrorCode,
    message?: string,
    /** Extra fields for the client, e.g. { field: "chunk_index" }. Never payloads. */
    readonly details: Record<string, string | number> = {},
    options?: ErrorOptions,
  ) {
    super(message ?? ERRORS[code].description, options);
  }
  get spec(): ErrorSpec {
    return ERRORS[this.code];
  }
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.hasOwn(ERRORS, code);
}

/** Any thrown value as an AppError; unknown errors become INTERNAL (the caller logs the cause). */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new AppError("INTERNAL", undefined, {}, { cause: err });
}
