/**
 * @module messages
 * The JSON messages of the Candid WebSocket protocol (field names exactly as the specification
 * writes them), the encoder the web client sends client → server messages with, and the
 * gateway's strict parser for them.
 *
 * Validation rules: session ids are canonical lowercase UUIDs; integers are non-negative safe
 * integers (indices also fit uint32, the binary header's width); timestamps are ISO 8601 strings
 * with a date and time ("2025-12-16T10:30:00Z", offsets and fractions allowed). Unknown extra
 * fields are ignored, so older gateways accept newer clients.
 */
import { type BlobKind, isCanonicalUuid, MAX_INDEX } from "./ids";
import { type ErrorCode, WireError } from "./errors";

export interface SessionInit {
  type: "session_init";
  session_id: string;
  interview_session_id: number | null;
  user_id: number | null;
  timestamp: string | null;
  /**
   * The upload token (a JWT minted by the gateway's operator API); the gateway refuses an init
   * without a valid one. The parser always sets it (null when absent); optional for senders.
   */
  token?: string | null;
}

/** Longest upload token a session_init may carry, in characters (a real one is ~350); longer: TOKEN_INVALID. */
export const MAX_TOKEN_CHARS = 4096;
export interface AudioMetadata {
  type: "audio_metadata";
  session_id: string;
  chunk_index: number;
  start_timestamp: string;
  end_timestamp: string;
  duration_ms: number;
  size: number;
}
export interface FrameMetadata {
  type: "frame_metadata";
  session_id: string;
  frame_index: number;
  chunk_index: number;
  timestamp: string;
  offset_ms: number;
  size: number;
}
export interface SessionComplete {
  type: "session_complete";
  session_id: string;
  timestamp: string | null;
  total_chunks: number;
  total_frames: number;
}
/** What the page noticed about its own capture (capture-health in the web app). */
export const CAPTURE_EVENT_KINDS = [
  "silence",
  "mic_muted",
  "mic_ended",
  "camera_muted",
  "camera_ended",
  "camera_black",
  "camera_frozen",
  "device_changed",
  "tab_hidden",
] as const;
export type CaptureEventKind = (typeof CAPTURE_EVENT_KINDS)[number];
export const CAPTURE_EVENT_PHASES = ["began", "ended"] as const;
export type CaptureEventPhase = (typeof CAPTURE_EVENT_PHASES)[number];
/** Longest `detail` of a capture_event, as compact JSON, in bytes. */
export const MAX_CAPTURE_EVENT_DETAIL_BYTES = 512;
/** A capture_event's detail: a flat object of short scalars. */
export type CaptureEventDetail = Record<string, string | number | boolean>;
/**
 * A problem with the capture that began or ended, as the page saw it (silence for 20 s, a muted
 * track, a black camera, …). `event_index` is the page's own sequence from 0: re-sending the same
 * index with the same content is harmless, different content under a used index is refused.
 */
export interface CaptureEvent {
  type: "capture_event";
  session_id: string;
  event_index: number;
  kind: CaptureEventKind;
  phase: CaptureEventPhase;
  at: string;
  detail: CaptureEventDetail | null;
}
export type ClientMessage = SessionInit | AudioMetadata | FrameMetadata | SessionComplete | CaptureEvent;

export interface SessionInitAck {
  type: "session_init_ack";
  session_id: string;
  status: "ready";
  /**
   * Only when this init continued a session that already existed: what the server holds. A
   * client drops the items listed here from what it still has to send (their acks were lost).
   * Absent for a new session and for a repeated init on the same connection.
   */
  stored?: StoredIndices;
  /** Sent with `stored`: true when a list was cut to its first MAX_STORED_RANGES ranges. */
  stored_truncated?: boolean;
}

/** An inclusive range of indices, `[first, last]` with first <= last. */
export type IndexRange = [first: number, last: number];

/**
 * The indices a session has stored (a committed row, hence a durable blob), per kind, as maximal
 * runs of consecutive indices in ascending order: `{"chunks": [[0, 2], [4, 9]], "frames": [[0, 49]]}`.
 */
export interface StoredIndices {
  chunks: IndexRange[];
  frames: IndexRange[];
}

/** Ranges listed per kind in session_init_ack's `stored` at most; past it the lowest are kept and `stored_truncated` is true. */
export const MAX_STORED_RANGES = 1000;

/**
 * Whether `index` lies in one of `ranges` (ascending, disjoint, as `stored` lists them): a binary
 * search, so a client checks every item of a long outbox cheaply. Malformed entries never match.
 */
export function inRanges(ranges: readonly (readonly [number, number])[] | undefined, index: number): boolean {
  if (!Array.isArray(ranges)) return false;
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = ranges[mid];
    if (!Array.isArray(r)) return false;
    const [first, last] = r;
    if (index < first) hi = mid - 1;
    else if (index > last) lo = mid + 1;
    else return true;
  }
  return false;
}
export interface AudioAck {
  type: "audio_ack";
  chunk_index: number;
}
export interface FrameAck {
  type: "frame_ack";
  frame_index: number;
}
/** Our answer to session_complete: what is stored, and which claimed indices are missing. */
export interface SessionCompleteAck {
  type: "session_complete_ack";
  session_id: string;
  status: "completed";
  total_chunks: number;
  total_frames: number;
  /** The first (lowest) missing indices, at most 1,000 of them; the *_count fields say how many there are in all. */
  missing_chunks: number[];
  missing_frames: number[];
  missing_chunks_count: number;
  missing_frames_count: number;
}
/** The capture_event is stored (or was already, with the same content). */
export interface CaptureEventAck {
  type: "capture_event_ack";
  session_id: string;
  event_index: number;
}
export interface ErrorMessage {
  type: "error";
  /** A code of the error table (proto/wire/errors.ts); a client treats an unknown one as retryable. */
  code: ErrorCode | (string & {});
  message: string;
  chunk_index?: number;
  frame_index?: number;
  /** Set when the refused message was a capture_event. */
  event_index?: number;
  field?: string;
}
export type ServerMessage = SessionInitAck | AudioAck | FrameAck | SessionCompleteAck | CaptureEventAck | ErrorMessage;

/** The fields of a blob's metadata message besides `type` and `session_id` (what a client stores with the blob). */
export type AudioMetadataFields = Omit<AudioMetadata, "type" | "session_id">;
export type FrameMetadataFields = Omit<FrameMetadata, "type" | "session_id">;

/** Per kind of blob: the metadata message announcing it, the ack answering it, and the index field naming it. */
export const METADATA_TYPE = { audio: "audio_metadata", frame: "frame_metadata" } as const satisfies Record<BlobKind, ClientMessage["type"]>;
export const ACK_TYPE = { audio: "audio_ack", frame: "frame_ack" } as const satisfies Record<BlobKind, ServerMessage["type"]>;
export const INDEX_FIELD = { audio: "chunk_index", frame: "frame_index" } as const satisfies Record<BlobKind, string>;

/** The field naming one item in an ack or error message: `{chunk_index}` for audio, `{frame_index}` for a frame. */
export function indexField(kind: BlobKind, index: number): { chunk_index: number } | { frame_index: number } {
  return kind === "audio" ? { chunk_index: index } : { frame_index: index };
}

/** The item an error message is about, or null when it concerns the session or the connection. */
export function erroredItem(msg: ErrorMessage): { kind: BlobKind; index: number } | null {
  if (msg.chunk_index !== undefined) return { kind: "audio", index: Number(msg.chunk_index) };
  if (msg.frame_index !== undefined) return { kind: "frame", index: Number(msg.frame_index) };
  return null;
}

/**
 * The text frame of a client message: fields in the order given, null ones left out (the parser
 * reads an absent optional field as null, so both mean the same).
 */
export function encodeClientMessage(msg: ClientMessage): string {
  return JSON.stringify(msg, (_key, v: unknown) => (v === null ? undefined : v));
}

/** The metadata message announcing one blob, from the fields a client stored with it. */
export function mediaMetadata(kind: "audio", sessionId: string, fields: AudioMetadataFields): AudioMetadata;
export function mediaMetadata(kind: "frame", sessionId: string, fields: FrameMetadataFields): FrameMetadata;
export function mediaMetadata(kind: BlobKind, sessionId: string, fields: AudioMetadataFields | FrameMetadataFields): AudioMetadata | FrameMetadata;
export function mediaMetadata(kind: BlobKind, sessionId: string, fields: AudioMetadataFields | FrameMetadataFields): AudioMetadata | FrameMetadata {
  return { type: METADATA_TYPE[kind], session_id: sessionId, ...fields } as AudioMetadata | FrameMetadata;
}

const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** Milliseconds since the epoch of a valid protocol timestamp (see isoToMs for the format). */
export function isoToMs(s: string): number {
  return Date.parse(s);
}

type Obj = Record<string, unknown>;

function invalid(field: string, what: string): WireError {
  return new WireError("INVALID_MESSAGE", `${field} ${what}`, { field });
}

function uint(o: Obj, field: string, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[field];
  if (v === undefined || v === null) throw invalid(field, "is required");
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw invalid(field, "must be a non-negative integer");
  if (v > max) throw invalid(field, `must be at most ${max}`);
  return v;
}

function optUint(o: Obj, field: string): number | null {
  return o[field] === undefined || o[field] === null ? null : uint(o, field);
}

/**
 * The instants a timestamp may name, in ms since the epoch: after 1970-01-01T00:00:00Z (the
 * services carry ms as int64 where 0 means "unset") and up to 9999-12-31T23:59:59.999Z (past it
 * Date.toISOString writes a six-digit "+010000-…" year that PostgreSQL does not parse). A date
 * that does not exist ("2025-02-31", which Date.parse rolls over to March 3) is refused too.
 */
const MIN_TIMESTAMP_MS = 1;
const MAX_TIMESTAMP_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

function timestamp(o: Obj, field: string): string {
  const v = o[field];
  if (v === undefined || v === null) throw invalid(field, "is required");
  const ms = typeof v === "string" && ISO_RE.test(v) ? Date.parse(v) : Number.NaN;
  if (typeof v !== "string" || Number.isNaN(ms)) throw invalid(field, "must be an ISO 8601 timestamp");
  if (ms < MIN_TIMESTAMP_MS || ms > MAX_TIMESTAMP_MS) throw invalid(field, "must be after 1970-01-01T00:00:00Z and before the year 10000");
  const [y, m, d] = v.slice(0, 10).split("-").map(Number) as [number, number, number];
  if (d > new Date(Date.UTC(y, m, 0)).getUTCDate()) throw invalid(field, "names a day that does not exist");
  return v;
}

function optTimestamp(o: Obj, field: string): string | null {
  return o[field] === undefined || o[field] === null ? null : timestamp(o, field);
}

/** The token is verified by the gateway, not here: this only refuses what cannot be a token at all. */
function optToken(o: Obj): string | null {
  const v = o.token;
  if (v === undefined || v === null) return null;
  if (typeof v !== "string" || v.length > MAX_TOKEN_CHARS) throw new WireError("TOKEN_INVALID", `token must be a string of at most ${MAX_TOKEN_CHARS} characters`, { field: "token" });
  return v;
}

function sessionId(o: Obj): string {
  const v = o.session_id;
  if (!isCanonicalUuid(v)) throw new WireError("INVALID_SESSION_ID", "session_id must be a canonical lowercase UUID", { field: "session_id" });
  return v;
}

function oneOf<T extends string>(o: Obj, field: string, allowed: readonly T[]): T {
  const v = o[field];
  if (v === undefined || v === null) throw invalid(field, "is required");
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) throw invalid(field, `must be one of ${allowed.join(", ")}`);
  return v as T;
}

const DETAIL_KEY_RE = /^[a-z][a-z0-9_]{0,39}$/;
function captureDetail(o: Obj): CaptureEventDetail | null {
  const v = o.detail;
  if (v === undefined || v === null) return null;
  if (typeof v !== "object" || Array.isArray(v)) throw invalid("detail", "must be an object");
  const out: CaptureEventDetail = {};
  for (const [k, x] of Object.entries(v as Obj)) {
    if (!DETAIL_KEY_RE.test(k)) throw invalid("detail", "keys must be lowercase snake_case names of at most 40 characters");
    if (typeof x === "number" ? !Number.isFinite(x) : typeof x !== "string" && typeof x !== "boolean") throw invalid("detail", "values must be strings, finite numbers or booleans");
    out[k] = x as string | number | boolean;
  }
  if (new TextEncoder().encode(JSON.stringify(out)).length > MAX_CAPTURE_EVENT_DETAIL_BYTES) throw invalid("detail", `must be at most ${MAX_CAPTURE_EVENT_DETAIL_BYTES} bytes of JSON`);
  return out;
}

/** Parses and validates one text frame. Throws WireError; never returns a half-valid message. */
export function parseClientMessage(text: string): ClientMessage {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new WireError("INVALID_JSON", "message is not valid JSON");
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw new WireError("INVALID_JSON", "message must be a JSON object");
  const m = o as Obj;
  switch (m.type) {
    case "session_init":
      return {
        type: "session_init",
        session_id: sessionId(m),
        interview_session_id: optUint(m, "interview_session_id"),
        user_id: optUint(m, "user_id"),
        timestamp: optTimestamp(m, "timestamp"),
        token: optToken(m),
      };
    case "audio_metadata": {
      const msg: AudioMetadata = {
        type: "audio_metadata",
        session_id: sessionId(m),
        chunk_index: uint(m, "chunk_index", MAX_INDEX),
        start_timestamp: timestamp(m, "start_timestamp"),
        end_timestamp: timestamp(m, "end_timestamp"),
        duration_ms: uint(m, "duration_ms"),
        size: uint(m, "size"),
      };
      if (isoToMs(msg.end_timestamp) < isoToMs(msg.start_timestamp)) throw invalid("end_timestamp", "must not be before start_timestamp");
      return msg;
    }
    case "frame_metadata":
      return {
        type: "frame_metadata",
        session_id: sessionId(m),
        frame_index: uint(m, "frame_index", MAX_INDEX),
        chunk_index: uint(m, "chunk_index", MAX_INDEX),
        timestamp: timestamp(m, "timestamp"),
        offset_ms: uint(m, "offset_ms"),
        size: uint(m, "size"),
      };
    case "session_complete":
      return {
        type: "session_complete",
        session_id: sessionId(m),
        timestamp: optTimestamp(m, "timestamp"),
        total_chunks: uint(m, "total_chunks", MAX_INDEX + 1),
        total_frames: uint(m, "total_frames", MAX_INDEX + 1),
      };
    case "capture_event":
      return {
        type: "capture_event",
        session_id: sessionId(m),
        event_index: uint(m, "event_index", MAX_INDEX),
        kind: oneOf(m, "kind", CAPTURE_EVENT_KINDS),
        phase: oneOf(m, "phase", CAPTURE_EVENT_PHASES),
        at: timestamp(m, "at"),
        detail: captureDetail(m),
      };
    default:
      throw new WireError("UNKNOWN_MESSAGE_TYPE", typeof m.type === "string" ? `unknown message type ${JSON.stringify(m.type.slice(0, 40))}` : "message has no string `type`");
  }
}
