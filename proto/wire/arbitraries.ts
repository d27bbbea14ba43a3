/**
 * @module wire/arbitraries
 * fast-check arbitraries for the browser protocol, shared by the property tests (proto/wire/*.fuzz.test.ts,
 * services/gateway/core/stream-session.fuzz.test.ts) and the live-gateway fuzz run (test/e2e/fuzz.test.ts).
 * Test-only: nothing in the product imports it (fast-check is a dev dependency).
 *
 * Three families: valid values (what a correct client sends), near-valid mutations of them (one
 * field dropped, retyped or replaced, the text cut or a character changed), and noise (any JSON,
 * any string, any bytes). The codec's promise is that none of them makes it throw anything but a
 * WireError with a documented code.
 */
import fc from "fast-check";
import { encodeBinaryFrame, HEADER_BYTES } from "./binary-frame";
import type { ErrorCode } from "./errors";
import { type BlobKind, MAX_INDEX } from "./ids";
import { type AudioMetadata, CAPTURE_EVENT_KINDS, CAPTURE_EVENT_PHASES, type CaptureEvent, type ClientMessage, encodeClientMessage, type FrameMetadata, type SessionComplete, type SessionInit } from "./messages";

/**
 * A property's number of runs: `n` times CANDID_FUZZ_SCALE (default 1), so a long hunt is
 * `CANDID_FUZZ_SCALE=30 bun test …fuzz.test.ts` and CI keeps the short default.
 */
export function fuzzRuns(n: number): number {
  const scale = Number(process.env.CANDID_FUZZ_SCALE ?? 1);
  return Math.max(1, Math.round(n * (Number.isFinite(scale) && scale > 0 ? scale : 1)));
}

/** What parseClientMessage documents it throws (its WireError codes). */
export const PARSE_ERROR_CODES: readonly ErrorCode[] = ["INVALID_JSON", "UNKNOWN_MESSAGE_TYPE", "INVALID_MESSAGE", "INVALID_SESSION_ID", "TOKEN_INVALID"];
/** What decodeBinaryFrame documents it throws. */
export const DECODE_ERROR_CODES: readonly ErrorCode[] = ["MALFORMED_BINARY_HEADER"];
/** What encodeHeader / encodeBinaryFrame document they throw. */
export const ENCODE_ERROR_CODES: readonly ErrorCode[] = ["INVALID_SESSION_ID", "INVALID_MESSAGE"];

export const MESSAGE_TYPES = ["session_init", "audio_metadata", "frame_metadata", "session_complete", "capture_event"] as const;

/** A canonical lowercase UUID (any version fast-check makes, 1 to 15). */
export const sessionIdArb: fc.Arbitrary<string> = fc.uuid();
export const kindArb: fc.Arbitrary<BlobKind> = fc.constantFrom("audio", "frame");
/** A uint32 index, biased to the edges (0, 1, MAX_INDEX). */
export const indexArb: fc.Arbitrary<number> = fc.oneof(fc.constantFrom(0, 1, MAX_INDEX), fc.integer({ min: 0, max: MAX_INDEX }), fc.nat(64));
const safeUint = fc.oneof(fc.nat(100_000), fc.constantFrom(0, Number.MAX_SAFE_INTEGER), fc.maxSafeNat());

/** Instants the parser accepts: (1970-01-01T00:00:00Z, 9999-12-31T23:59:59.999Z]. */
const MIN_MS = 1;
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const instantArb = fc.oneof(fc.integer({ min: MIN_MS, max: MAX_MS }), fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }));

function pad(n: number, w = 2): string {
  return String(Math.abs(n)).padStart(w, "0");
}

/**
 * A protocol timestamp naming `ms`, in one of the accepted spellings: `…Z` with or without
 * milliseconds, or with a ±hh:mm / ±hhmm offset (the local time written so the instant stays `ms`).
 * Null when that spelling would need a year outside 0000–9999.
 */
function render(ms: number, style: "z" | "z-no-ms" | "offset" | "offset-compact", offsetMin: number): string | null {
  if (style === "z") return new Date(ms).toISOString();
  if (style === "z-no-ms") return ms % 1000 === 0 ? new Date(ms).toISOString().replace(".000Z", "Z") : null;
  const local = new Date(ms + offsetMin * 60_000).toISOString(); // the wall clock at that offset
  if (!/^\d{4}-/.test(local)) return null;
  const sign = offsetMin < 0 ? "-" : "+";
  const hh = pad(Math.trunc(Math.abs(offsetMin) / 60));
  const mm = pad(Math.abs(offsetMin) % 60);
  return `${local.slice(0, -1)}${sign}${hh}${style === "offset" ? ":" : ""}${mm}`;
}

/** A valid timestamp and the instant it names. */
export const timestampArb: fc.Arbitrary<{ text: string; ms: number }> = fc
  .record({
    ms: instantArb,
    style: fc.constantFrom("z", "z-no-ms", "offset", "offset-compact") as fc.Arbitrary<"z" | "z-no-ms" | "offset" | "offset-compact">,
    offsetMin: fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
  })
  .map(({ ms, style, offsetMin }) => ({ text: render(ms, style, offsetMin), ms }))
  .filter((t): t is { text: string; ms: number } => t.text !== null);

const tokenArb = fc.option(fc.string({ maxLength: 64 }), { nil: null });

export const sessionInitArb = (sid: fc.Arbitrary<string> = sessionIdArb): fc.Arbitrary<SessionInit> =>
  fc.record({
    type: fc.constant("session_init" as const),
    session_id: sid,
    interview_session_id: fc.option(safeUint, { nil: null }),
    user_id: fc.option(safeUint, { nil: null }),
    timestamp: fc.option(timestampArb.map((t) => t.text), { nil: null }),
    token: tokenArb,
  });

export const audioMetadataArb = (sid: fc.Arbitrary<string> = sessionIdArb, index: fc.Arbitrary<number> = indexArb, size: fc.Arbitrary<number> = safeUint): fc.Arbitrary<AudioMetadata> =>
  fc
    .record({ sid, index, a: timestampArb, b: timestampArb, duration: safeUint, size })
    .map(({ sid, index, a, b, duration, size }) => {
      const [start, end] = a.ms <= b.ms ? [a, b] : [b, a];
      return { type: "audio_metadata" as const, session_id: sid, chunk_index: index, start_timestamp: start.text, end_timestamp: end.text, duration_ms: duration, size };
    });

export const frameMetadataArb = (sid: fc.Arbitrary<string> = sessionIdArb, index: fc.Arbitrary<number> = indexArb, size: fc.Arbitrary<number> = safeUint): fc.Arbitrary<FrameMetadata> =>
  fc.record({
    type: fc.constant("frame_metadata" as const),
    session_id: sid,
    frame_index: index,
    chunk_index: indexArb,
    timestamp: timestampArb.map((t) => t.text),
    offset_ms: safeUint,
    size,
  });

export const sessionCompleteArb = (sid: fc.Arbitrary<string> = sessionIdArb): fc.Arbitrary<SessionComplete> =>
  fc.record({
    type: fc.constant("session_complete" as const),
    session_id: sid,
    timestamp: fc.option(timestampArb.map((t) => t.text), { nil: null }),
    total_chunks: fc.oneof(fc.nat(64), fc.integer({ min: 0, max: MAX_INDEX + 1 })),
    total_frames: fc.oneof(fc.nat(64), fc.integer({ min: 0, max: MAX_INDEX + 1 })),
  });

const detailKeyArb = fc.stringMatching(/^[a-z][a-z0-9_]{0,11}$/);
const detailValueArb = fc.oneof(fc.string({ maxLength: 16 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean());

export const captureEventArb = (sid: fc.Arbitrary<string> = sessionIdArb): fc.Arbitrary<CaptureEvent> =>
  fc.record({
    type: fc.constant("capture_event" as const),
    session_id: sid,
    event_index: indexArb,
    kind: fc.constantFrom(...CAPTURE_EVENT_KINDS),
    phase: fc.constantFrom(...CAPTURE_EVENT_PHASES),
    at: timestampArb.map((t) => t.text),
    // -0 is not JSON: it re-reads as 0, so a round trip could not be equal.
    detail: fc.option(fc.dictionary(detailKeyArb, detailValueArb.map((v) => (Object.is(v, -0) ? 0 : v)), { maxKeys: 4 }), { nil: null }),
  });

/** Any valid client message. */
export const clientMessageArb = (sid: fc.Arbitrary<string> = sessionIdArb): fc.Arbitrary<ClientMessage> =>
  fc.oneof(sessionInitArb(sid), audioMetadataArb(sid), frameMetadataArb(sid), sessionCompleteArb(sid), captureEventArb(sid));

/** Values that are wrong for most fields: wrong types, negative, fractional, too large, near-miss strings. */
export const badValueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, -1, 1.5, Number.MAX_SAFE_INTEGER + 1, MAX_INDEX + 1, 1e308, "", "0", [], {}, "2025-02-31T00:00:00Z", "9999-12-31T23:59:59-23:59", "1970-01-01T00:00:00Z", "+010000-01-01T00:00:00.000Z", "0F8FAD5B-D9CB-469F-A165-70867728950E"),
  fc.jsonValue({ maxDepth: 2 }),
  fc.string({ maxLength: 40 }),
  fc.double(),
  fc.integer(),
);

export type Mutation =
  | { op: "drop"; field: number }
  | { op: "replace"; field: number; value: unknown }
  | { op: "add"; key: string; value: unknown }
  | { op: "retype"; type: unknown };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("drop" as const), field: fc.nat() }),
  fc.record({ op: fc.constant("replace" as const), field: fc.nat(), value: badValueArb }),
  fc.record({ op: fc.constant("add" as const), key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom("__proto__", "constructor", "toString")), value: fc.jsonValue({ maxDepth: 2 }) }),
  fc.record({ op: fc.constant("retype" as const), type: fc.oneof(fc.constantFrom(...MESSAGE_TYPES), badValueArb) }),
);

/** A copy of a message's JSON object with mutations applied (field numbers pick among its keys). */
export function mutate(msg: object, mutations: readonly Mutation[]): Record<string, unknown> {
  const o: Record<string, unknown> = JSON.parse(encodeClientMessage(msg as ClientMessage));
  for (const m of mutations) {
    const keys = Object.keys(o);
    if (m.op === "drop" && keys.length) delete o[keys[m.field % keys.length]!];
    else if (m.op === "replace" && keys.length) o[keys[m.field % keys.length]!] = m.value;
    else if (m.op === "add") Object.defineProperty(o, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
    else if (m.op === "retype") o.type = m.type;
  }
  return o;
}

/** Text-level damage to an encoded message: cut it, or change / insert / delete one character. */
export const textDamageArb: fc.Arbitrary<(s: string) => string> = fc.oneof(
  fc.nat().map((n) => (s: string) => s.slice(0, n % (s.length + 1))),
  fc.tuple(fc.nat(), fc.string({ minLength: 1, maxLength: 1, unit: "binary" })).map(([n, c]) => (s: string) => {
    const i = n % Math.max(1, s.length);
    return s.slice(0, i) + c + s.slice(i + 1);
  }),
  fc.tuple(fc.nat(), fc.string({ maxLength: 4, unit: "binary" })).map(([n, c]) => (s: string) => {
    const i = n % (s.length + 1);
    return s.slice(0, i) + c + s.slice(i);
  }),
  fc.nat().map((n) => (s: string) => {
    const i = n % Math.max(1, s.length);
    return s.slice(0, i) + s.slice(i + 1);
  }),
);

/** A valid binary frame's bytes (header + blob). */
export const binaryFrameArb = (sid: fc.Arbitrary<string> = sessionIdArb): fc.Arbitrary<Uint8Array> =>
  fc.tuple(sid, kindArb, indexArb, fc.uint8Array({ maxLength: 64 })).map(([s, k, i, b]) => encodeBinaryFrame(s, k, i, b));

/** Byte-level damage: flip bits, overwrite a byte, truncate, or append. Biased into the header. */
export const byteDamageArb: fc.Arbitrary<(b: Uint8Array) => Uint8Array> = fc.oneof(
  fc.tuple(fc.nat(HEADER_BYTES + 8), fc.integer({ min: 1, max: 255 })).map(([i, x]) => (b: Uint8Array) => {
    const out = b.slice();
    if (out.length) out[i % out.length]! ^= x;
    return out;
  }),
  fc.tuple(fc.nat(), fc.nat(255)).map(([i, v]) => (b: Uint8Array) => {
    const out = b.slice();
    if (out.length) out[i % out.length] = v;
    return out;
  }),
  fc.nat(HEADER_BYTES + 8).map((n) => (b: Uint8Array) => b.slice(0, n)),
  fc.uint8Array({ maxLength: 16 }).map((extra) => (b: Uint8Array) => {
    const out = new Uint8Array(b.length + extra.length);
    out.set(b);
    out.set(extra, b.length);
    return out;
  }),
);
