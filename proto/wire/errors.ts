/**
 * @module wire/errors
 * Every error code and close code of the media WebSocket, with what the connection does about it:
 * the browser side of Candid's one error table. services/shared/errors.ts adds the HTTP and gRPC
 * columns on top of this table (its type requires a row for every code here), and
 * services/shared/errors-doc.ts renders both into docs/errors.md. Pure and dependency-free, so the
 * web client imports the same codes the gateway sends.
 *
 * To add an error code: a row here (the compiler then asks for its HTTP/gRPC row in
 * services/shared/errors.ts), then `bun services/shared/errors-doc.ts --write`.
 */

export interface WireErrorSpec {
  /**
   * When the error makes the stream meaningless, the WebSocket close that follows its error
   * message (the error code is the close reason), and whether the client then reconnects and
   * re-sends or stops (no connection of its can continue); null: the gateway answers
   * `{"type":"error",...}` and the connection stays open.
   */
  readonly close: { readonly code: number; readonly then: "reconnect" | "stop" } | null;
  /** An item refused with this code will never be accepted as it was sent: the client drops it (else it sends it again later). */
  readonly dropsItem: boolean;
  /**
   * The server says "not now" (a dependency is down or full): the item is fine and will be
   * accepted later, so the client retries it with backoff for as long as it takes and never drops
   * it for this code (other retried codes count toward the client's give-up limit).
   */
  readonly transient: boolean;
  /** Sent without an item index, the session cannot go on: the client stops instead of reconnecting. */
  readonly endsSession: boolean;
  /**
   * The code only answers the WebSocket upgrade request (HTTP, see ENDPOINT_ANSWERS in
   * services/shared/errors.ts): the connection never opens, the client's connect fails.
   */
  readonly refusesUpgrade: boolean;
  readonly description: string;
}

const open = { close: null, dropsItem: false, transient: false, endsSession: false, refusesUpgrade: false } as const;
const upgrade = { ...open, refusesUpgrade: true } as const;

const table = {
  // --- close the connection: the stream cannot be interpreted any further ---
  MALFORMED_BINARY_HEADER: { ...open, close: { code: 4400, then: "reconnect" }, description: "A binary frame is shorter than its 41-byte header, has a type other than 'a' or 'f', or its session id is not a canonical UUID." },
  SESSION_NOT_INITIALIZED: { ...open, close: { code: 4401, then: "reconnect" }, description: "Media metadata, a blob or session_complete arrived before a successful session_init." },
  INVALID_SESSION_ID: { ...open, close: { code: 4402, then: "stop" }, endsSession: true, description: "A session_id is not a canonical lowercase UUID (8-4-4-4-12 hex digits)." },
  SESSION_TAKEN_OVER: { ...open, close: { code: 4409, then: "stop" }, description: "Another connection sent session_init for this session; the newest connection wins." },
  INIT_TIMEOUT: { ...open, close: { code: 4408, then: "reconnect" }, description: "No successful session_init within GATEWAY_INIT_TIMEOUT_MS (10 s) of the connection opening." },
  IDLE_TIMEOUT: { ...open, close: { code: 4410, then: "reconnect" }, description: "No protocol message (text or binary) for GATEWAY_IDLE_TIMEOUT_MS (120 s); WebSocket pings and pongs do not count." },
  BUFFER_LIMIT_EXCEEDED: { ...open, close: { code: 4429, then: "reconnect" }, description: "More than GATEWAY_MAX_BUFFERED_BYTES (64 MiB) of blobs and text messages arrived without waiting for their acks (a client must keep a send window), or the gateway as a whole holds GATEWAY_MAX_TOTAL_BUFFERED_BYTES (1 GiB)." },
  RATE_LIMITED: { ...open, close: { code: 4430, then: "reconnect" }, description: "More messages (text and binary) than GATEWAY_MAX_MESSAGES_PER_S (1000 a second, bursts of GATEWAY_MESSAGE_BURST: 2000) on one connection." },
  // --- refuse the WebSocket upgrade (HTTP): the connection never opens ---
  TOO_MANY_CONNECTIONS: { ...upgrade, description: "The gateway holds GATEWAY_MAX_CONNECTIONS (10000) connections, or this client IP GATEWAY_MAX_CONNECTIONS_PER_IP (50): the upgrade is answered 503 (an upgrade that raced past the check is closed 1013 right after it opens)." },
  ORIGIN_NOT_ALLOWED: { ...upgrade, description: "The upgrade or an HTTP request carries an Origin that is not in CORS_ALLOWED_ORIGINS (an empty list allows none): 403. A request without an Origin header (not a browser) is allowed." },
  TOKEN_INVALID: { ...open, close: { code: 4403, then: "stop" }, endsSession: true, description: "The upload token is missing, malformed, forged, expired, not yet valid, for another audience or signed with an unknown key; over HTTP, a bearer is missing or not valid. Get a new token." },
  FORBIDDEN: { ...open, close: { code: 4403, then: "stop" }, endsSession: true, description: "The upload token is valid but does not allow this interview, user or media session (on the status route this answers 404 SESSION_NOT_FOUND instead)." },
  TOO_MANY_SESSIONS: { ...open, close: { code: 4431, then: "stop" }, endsSession: true, description: "More than GATEWAY_MAX_SESSIONS_PER_TOKEN (4) media sessions are open at once under one upload token." },
  // --- answer with an error message; the connection stays usable ---
  INVALID_JSON: { ...open, description: "A text frame is not valid JSON or not a JSON object." },
  UNKNOWN_MESSAGE_TYPE: { ...open, description: "The `type` field is missing or not one of the protocol's message types." },
  INVALID_MESSAGE: { ...open, dropsItem: true, description: "A field is missing or malformed (integers must be non-negative integers, timestamps ISO 8601); `field` names it." },
  SESSION_MISMATCH: { ...open, endsSession: true, description: "A message or binary header names a different session than this connection's, or session_init repeats with other details." },
  SESSION_COMPLETED: { ...open, dropsItem: true, description: "The session was already completed; it accepts no more media." },
  SESSION_NOT_FOUND: { ...open, description: "No media session has this id." },
  INTERVIEW_SESSION_NOT_FOUND: { ...open, endsSession: true, description: "session_init names an interview_session_id that does not exist." },
  METADATA_MISSING: { ...open, description: "A blob arrived without its audio_metadata / frame_metadata (or that metadata expired); send the metadata, then the blob." },
  TOO_MANY_PENDING: { ...open, description: "Too many metadata messages are waiting for their blobs on this connection; wait for acks." },
  SIZE_MISMATCH: { ...open, dropsItem: true, description: "The blob's length differs from the `size` its metadata announced." },
  BLOB_TOO_LARGE: { ...open, dropsItem: true, description: "The announced or actual size exceeds the limit (audio 8 MiB, frame 2 MiB by default)." },
  UNSUPPORTED_MEDIA_TYPE: { ...open, dropsItem: true, description: "Audio is not WebM (an EBML header with DocType `webm`) or MP4 (an `ftyp` box with an audio brand: M4A, mp41, mp42, isom, iso2/4/5/6, dash), or a frame is not a whole JPEG (SOI, marker segments, SOS, EOI at the end)." },
  INDEX_CONFLICT: { ...open, dropsItem: true, description: "This index is already stored with different bytes; the stored blob is kept. For a capture_event: its event_index is already stored with other content; the stored event is kept." },
  CHECKSUM_MISMATCH: { ...open, description: "The bytes received by the storage service do not match their SHA-256." },
  UPSTREAM_UNAVAILABLE: { ...open, transient: true, description: "The storage or metadata service did not answer in time; nothing was acked, send the item again." },
  STORAGE_FULL: { ...open, transient: true, description: "The media volume is full (no space, inodes or quota left: ENOSPC, EDQUOT) or the S3 server reports insufficient storage (HTTP 507). Nothing was written and nothing acked; the connection stays open and the client sends the item again later (the web client keeps it and retries with its backoff until space is back). Operators: see the CandidStorageFull alert in docs/deploy.md." },
  ANALYSIS_CLAIM_LOST: { ...open, description: "Between services: the processor wrote a result or failure for an analysis item whose claim it no longer holds (the claim expired and another worker took it, or the item is done). Nothing changed." },
  SESSION_NOT_SEALED: { ...open, description: "Review: the session has no sealed manifest yet (it is not completed); its manifest exists once session_complete was acked." },
  SESSION_ALREADY_SEALED: { ...open, description: "Between services: a session's manifest was already sealed with another hash; the first seal stays." },
  RANGE_NOT_SATISFIABLE: { ...open, description: "Review: the Range header asks for bytes past the end of the audio (HTTP 416, with Content-Range: bytes */<size>)." },
  LEGAL_HOLD: { ...open, description: "Retention: the interview is under a legal hold (PUT /interview-sessions/{id}/legal-hold); it cannot be erased until the hold is lifted (HTTP 409). Nothing changed." },
  ERASURE_CLAIM_LOST: { ...open, description: "Between services: the reaper worked on an erasure whose claim it no longer holds (the claim expired and another reaper took it over, or it is done). Nothing changed; the erasure goes on under the newer claim." },
  INTERNAL_TOKEN_INVALID: { ...open, description: "An internal gRPC call arrived without the internal token (CANDID_INTERNAL_TOKEN), or with a wrong one; the gateway and the reaper treat it as INTERNAL (a misconfiguration, never sent to a browser)." },
  NOT_FOUND: { ...open, dropsItem: true, description: "No such route or blob. The web client also reports a queued item whose bytes vanished from its local store with this code." },
  INTERNAL: { ...open, description: "An unexpected failure; it is logged on the server and its details are not sent." },
  // --- HTTP only: never sent on the WebSocket ---
  API_KEY_INVALID: { ...open, description: "An operator route was called without an API key (`Authorization: Bearer <key>`), or with one that is not in CANDID_API_KEYS." },
} as const satisfies Record<string, WireErrorSpec>;

export type ErrorCode = keyof typeof table;

/** The error table's wire columns, by code (in the order docs/errors.md lists them); literal types kept. */
export const WIRE_ERRORS = table;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.hasOwn(WIRE_ERRORS, code);
}

/** True when an item refused with this code (any string from the wire) will never be accepted as sent. */
export function dropsItem(code: string): boolean {
  return isErrorCode(code) && WIRE_ERRORS[code].dropsItem;
}

/** True when an item refused with this code is fine and only has to wait: retry it until it is stored. */
export function isTransient(code: string): boolean {
  return isErrorCode(code) && WIRE_ERRORS[code].transient;
}

/** True when this code, sent without an item index, means the session cannot go on. */
export function endsSession(code: string): boolean {
  return isErrorCode(code) && WIRE_ERRORS[code].endsSession;
}

export interface CloseSpec {
  readonly code: number;
  /** Who closes with it. */
  readonly by: "gateway" | "client";
  /** The close reason the gateway sends ("" when Bun closes by itself or the client chooses the text). */
  readonly reason: string;
  readonly description: string;
}

/**
 * The close codes of the media WebSocket that no error code carries: the transport's own. The
 * error closes (4400, 4401, ...) are the `close` column of WIRE_ERRORS.
 */
export const CLOSES = {
  NORMAL: { code: 1000, by: "client", reason: "", description: "The web client is done with the connection: recording stopped, or a session-level error refused the session." },
  SERVICE_RESTART: {
    code: 1012,
    by: "gateway",
    reason: "SERVICE_RESTART",
    description: "The gateway is restarting (a rolling restart: it stopped taking new connections, then stored and acked what it had received): reconnect at once (another replica answers) and send again what was not acked.",
  },
  MESSAGE_TOO_BIG: { code: 1009, by: "gateway", reason: "", description: "One message is larger than the largest blob allowed plus the 41-byte header (audio 8 MiB + 41 bytes by default); Bun closes before reading it." },
  TRY_AGAIN_LATER: { code: 1013, by: "gateway", reason: "BACKPRESSURE", description: "An ack could not be delivered (the socket's send buffer was full): reconnect and send again what was not acked." },
  CLIENT_TIMEOUT: { code: 4000, by: "client", reason: "", description: "The web client gave up on the connection (session_init or an ack not answered in time); it reconnects and sends again." },
} as const satisfies Record<string, CloseSpec>;

/** Close reasons must fit in 123 bytes (RFC 6455: a control frame carries at most 125, 2 are the code). */
export const MAX_CLOSE_REASON_BYTES = 123;

/** Thrown by the codec (parse, encode, decode) for input it refuses. */
export class WireError extends Error {
  override readonly name = "WireError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: { field?: string } = {},
  ) {
    super(message);
  }
}
