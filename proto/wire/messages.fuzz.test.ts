/**
 * Property tests of the JSON message parser (fast-check; a failure prints its seed and the shrunk
 * counterexample): random strings, random JSON values and mutated valid messages are parsed into
 * a valid message or refused with one of parseClientMessage's documented WireError codes, nothing
 * else; encodeClientMessage → parseClientMessage round-trips every valid message.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { clientMessageArb, fuzzRuns, MESSAGE_TYPES, mutate, mutationArb, PARSE_ERROR_CODES, textDamageArb } from "./arbitraries";
import { WireError } from "./errors";
import { isCanonicalUuid, MAX_INDEX } from "./ids";
import { CAPTURE_EVENT_KINDS, CAPTURE_EVENT_PHASES, type ClientMessage, encodeClientMessage, isoToMs, MAX_CAPTURE_EVENT_DETAIL_BYTES, MAX_TOKEN_CHARS, parseClientMessage } from "./messages";

/** Parses; a throw must be a WireError with a documented code (INVALID_MESSAGE names its field). */
function parseOrRefuse(text: string): ClientMessage | null {
  try {
    return parseClientMessage(text);
  } catch (e) {
    if (!(e instanceof WireError)) throw new Error(`threw a non-WireError: ${String(e)}`, { cause: e });
    if (!PARSE_ERROR_CODES.includes(e.code)) throw new Error(`threw undocumented code ${e.code}: ${e.message}`);
    if (e.code === "INVALID_MESSAGE") expect(typeof e.details.field).toBe("string");
    return null;
  }
}

const isUint = (n: unknown, max = Number.MAX_SAFE_INTEGER) => typeof n === "number" && Number.isSafeInteger(n) && n >= 0 && n <= max;
const isTs = (s: unknown) => typeof s === "string" && !Number.isNaN(isoToMs(s)) && isoToMs(s) > 0;

/** What the parser promises about anything it returns: every field present, typed and in range; nothing else. */
function checkParsed(m: ClientMessage) {
  expect(isCanonicalUuid(m.session_id)).toBe(true);
  switch (m.type) {
    case "session_init":
      expect(Object.keys(m).sort()).toEqual(["interview_session_id", "session_id", "timestamp", "token", "type", "user_id"]);
      expect(m.interview_session_id === null || isUint(m.interview_session_id)).toBe(true);
      expect(m.user_id === null || isUint(m.user_id)).toBe(true);
      expect(m.timestamp === null || isTs(m.timestamp)).toBe(true);
      expect(m.token === null || (typeof m.token === "string" && m.token.length <= MAX_TOKEN_CHARS)).toBe(true);
      break;
    case "audio_metadata":
      expect(isUint(m.chunk_index, MAX_INDEX) && isUint(m.duration_ms) && isUint(m.size)).toBe(true);
      expect(isTs(m.start_timestamp) && isTs(m.end_timestamp)).toBe(true);
      expect(isoToMs(m.end_timestamp)).toBeGreaterThanOrEqual(isoToMs(m.start_timestamp));
      break;
    case "frame_metadata":
      expect(isUint(m.frame_index, MAX_INDEX) && isUint(m.chunk_index, MAX_INDEX) && isUint(m.offset_ms) && isUint(m.size)).toBe(true);
      expect(isTs(m.timestamp)).toBe(true);
      break;
    case "session_complete":
      expect(isUint(m.total_chunks, MAX_INDEX + 1) && isUint(m.total_frames, MAX_INDEX + 1)).toBe(true);
      expect(m.timestamp === null || isTs(m.timestamp)).toBe(true);
      break;
    case "capture_event":
      expect(isUint(m.event_index, MAX_INDEX) && isTs(m.at)).toBe(true);
      expect((CAPTURE_EVENT_KINDS as readonly string[]).includes(m.kind) && (CAPTURE_EVENT_PHASES as readonly string[]).includes(m.phase)).toBe(true);
      expect(m.detail === null || new TextEncoder().encode(JSON.stringify(m.detail)).length <= MAX_CAPTURE_EVENT_DETAIL_BYTES).toBe(true);
      break;
    default:
      throw new Error(`parsed an unknown type ${JSON.stringify(m)}`);
  }
}

/** The parser's full contract on one input: refused with a documented code, or valid and stable under re-encoding. */
function checkInput(text: string) {
  const m = parseOrRefuse(text);
  if (!m) return;
  checkParsed(m);
  expect(parseClientMessage(encodeClientMessage(m))).toEqual(m);
}

/** A valid message as the parser returns it (absent optional fields read as null). */
function normalized(m: ClientMessage): ClientMessage {
  return m.type === "session_init" ? { ...m, token: m.token ?? null } : m;
}

describe("parseClientMessage, fuzzed", () => {
  test("random strings: a documented WireError, never another throw", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ maxLength: 200, unit: "binary" }), fc.string({ maxLength: 50, unit: fc.constantFrom(..."{}[]\":,0123456789.-eE truefalsnul\\") })), checkInput),
      { numRuns: fuzzRuns(1500) },
    );
  });

  test("random JSON values: a documented WireError, never another throw", () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 3 }), (v) => checkInput(JSON.stringify(v))), { numRuns: fuzzRuns(2000) });
  });

  test("objects with a protocol type and random field values", () => {
    const fields = ["session_id", "interview_session_id", "user_id", "timestamp", "token", "chunk_index", "frame_index", "start_timestamp", "end_timestamp", "duration_ms", "offset_ms", "size", "total_chunks", "total_frames"];
    const value = fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.uuid(), fc.nat(), fc.constantFrom("2025-12-16T10:30:00Z", MAX_INDEX, MAX_INDEX + 1, -0, "x".repeat(MAX_TOKEN_CHARS + 1)));
    const obj = fc.record({ type: fc.constantFrom(...MESSAGE_TYPES) }).chain((base) => fc.dictionary(fc.constantFrom(...fields), value, { maxKeys: 8 }).map((d) => ({ ...d, ...base })));
    fc.assert(fc.property(obj, (o) => checkInput(JSON.stringify(o))), { numRuns: fuzzRuns(3000) });
  });

  test("mutated valid messages (fields dropped, replaced, added; type changed)", () => {
    fc.assert(
      fc.property(clientMessageArb(), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (msg, mutations) => checkInput(JSON.stringify(mutate(msg, mutations)))),
      { numRuns: fuzzRuns(1500) },
    );
  });

  test("valid messages damaged as text (cut, a character changed, inserted or deleted)", () => {
    fc.assert(
      fc.property(clientMessageArb(), fc.array(textDamageArb, { minLength: 1, maxLength: 3 }), (msg, damage) => checkInput(damage.reduce((s, d) => d(s), encodeClientMessage(msg)))),
      { numRuns: fuzzRuns(1500) },
    );
  });

  test("encodeClientMessage → parseClientMessage round-trips every valid message", () => {
    fc.assert(
      fc.property(clientMessageArb(), (msg) => {
        const parsed = parseClientMessage(encodeClientMessage(msg));
        expect(parsed).toEqual(normalized(msg));
        checkParsed(parsed);
      }),
      { numRuns: fuzzRuns(1500) },
    );
  });
});
