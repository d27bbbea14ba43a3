import { describe, expect, test } from "bun:test";
import { WireError } from "./errors";
import { encodeClientMessage, erroredItem, indexField, inRanges, MAX_TOKEN_CHARS, mediaMetadata, parseClientMessage } from "./messages";

const SID = "0f8fad5b-d9cb-469f-a165-70867728950e";
const T0 = "2025-12-16T10:30:00Z";
const T1 = "2025-12-16T10:30:10Z";

const audio = { type: "audio_metadata", session_id: SID, chunk_index: 0, start_timestamp: T0, end_timestamp: T1, duration_ms: 10000, size: 123456 };
const frame = { type: "frame_metadata", session_id: SID, frame_index: 0, chunk_index: 0, timestamp: "2025-12-16T10:30:02Z", offset_ms: 2000, size: 45678 };
const complete = { type: "session_complete", session_id: SID, timestamp: "2025-12-16T10:35:00Z", total_chunks: 30, total_frames: 150 };
const init = { type: "session_init", session_id: SID, interview_session_id: 123, user_id: 1, timestamp: T0 };

function fails(msg: unknown, code: string, field?: string) {
  try {
    parseClientMessage(typeof msg === "string" ? msg : JSON.stringify(msg));
  } catch (e) {
    expect(e).toBeInstanceOf(WireError);
    expect((e as WireError).code).toBe(code as WireError["code"]);
    if (field) expect((e as WireError).details.field).toBe(field);
    return;
  }
  throw new Error(`expected ${code} for ${JSON.stringify(msg)}`);
}

describe("parseClientMessage", () => {
  test("accepts the specification's examples unchanged", () => {
    expect(parseClientMessage(JSON.stringify(init))).toEqual({ ...init, token: null } as never);
    expect(parseClientMessage(JSON.stringify(audio))).toEqual(audio as never);
    expect(parseClientMessage(JSON.stringify(frame))).toEqual(frame as never);
    expect(parseClientMessage(JSON.stringify(complete))).toEqual(complete as never);
  });

  test("session_init: optional fields default to null", () => {
    expect(parseClientMessage(JSON.stringify({ type: "session_init", session_id: SID }))).toEqual({
      type: "session_init", session_id: SID, interview_session_id: null, user_id: null, timestamp: null, token: null,
    });
  });

  test("session_init: the token is carried as given; what cannot be a token is TOKEN_INVALID (verification is the gateway's)", () => {
    expect(parseClientMessage(JSON.stringify({ ...init, token: "eyJ.x.y" }))).toMatchObject({ token: "eyJ.x.y" });
    for (const bad of [5, {}, ["a"], true, "x".repeat(MAX_TOKEN_CHARS + 1)]) fails({ ...init, token: bad }, "TOKEN_INVALID", "token");
    expect(parseClientMessage(JSON.stringify({ ...init, token: "x".repeat(MAX_TOKEN_CHARS) }))).toBeTruthy();
  });

  test("ignores unknown extra fields", () => {
    expect(parseClientMessage(JSON.stringify({ ...audio, extra: "x" }))).toEqual(audio as never);
  });

  test("bad JSON and non-objects", () => {
    fails("{not json", "INVALID_JSON");
    fails("[1,2]", "INVALID_JSON");
    fails("null", "INVALID_JSON");
    fails("42", "INVALID_JSON");
  });

  test("unknown or missing type", () => {
    fails({ type: "audio_blob", session_id: SID }, "UNKNOWN_MESSAGE_TYPE");
    fails({ session_id: SID }, "UNKNOWN_MESSAGE_TYPE");
    fails({ type: 7 }, "UNKNOWN_MESSAGE_TYPE");
  });

  test("session ids must be canonical lowercase UUIDs", () => {
    for (const bad of ["test-123", SID.toUpperCase(), ` ${SID}`, 5, null]) {
      fails({ ...init, session_id: bad }, "INVALID_SESSION_ID", "session_id");
      fails({ ...audio, session_id: bad }, "INVALID_SESSION_ID", "session_id");
    }
    fails({ type: "session_init" }, "INVALID_SESSION_ID");
  });

  test("integers must be non-negative safe integers", () => {
    for (const bad of [-1, 1.5, "3", true, 2 ** 53, 1e300]) {
      fails({ ...audio, chunk_index: bad }, "INVALID_MESSAGE", "chunk_index");
      fails({ ...audio, size: bad }, "INVALID_MESSAGE", "size");
      fails({ ...frame, offset_ms: bad }, "INVALID_MESSAGE", "offset_ms");
      fails({ ...complete, total_frames: bad }, "INVALID_MESSAGE", "total_frames");
      fails({ ...init, interview_session_id: bad }, "INVALID_MESSAGE", "interview_session_id");
    }
    fails({ ...audio, duration_ms: undefined }, "INVALID_MESSAGE", "duration_ms");
    fails({ ...frame, frame_index: 2 ** 32 }, "INVALID_MESSAGE", "frame_index");
  });

  test("timestamps must be ISO 8601", () => {
    for (const bad of ["yesterday", "2025-12-16", "2025-13-45T10:30:00Z", 1734345000000, ""]) {
      fails({ ...audio, start_timestamp: bad }, "INVALID_MESSAGE", "start_timestamp");
      fails({ ...frame, timestamp: bad }, "INVALID_MESSAGE", "timestamp");
    }
    expect(parseClientMessage(JSON.stringify({ ...frame, timestamp: "2025-12-16T10:30:02.123+01:00" }))).toBeTruthy();
    fails({ ...audio, start_timestamp: T1, end_timestamp: T0 }, "INVALID_MESSAGE", "end_timestamp");
  });
});

describe("encodeClientMessage", () => {
  test("writes the fields in the order given, leaving null ones out; the parser reads them back", () => {
    expect(encodeClientMessage({ type: "session_init", session_id: SID, interview_session_id: 123, timestamp: T0, user_id: null })).toBe(
      `{"type":"session_init","session_id":"${SID}","interview_session_id":123,"timestamp":"${T0}"}`,
    );
    for (const m of [{ ...init, token: "eyJ.x.y" }, audio, frame, complete]) {
      const text = encodeClientMessage(m as never);
      expect(text).toBe(JSON.stringify(m));
      expect(parseClientMessage(text)).toEqual(m as never);
    }
  });

  test("mediaMetadata adds type and session_id to the fields stored with a blob", () => {
    const { type: _t, session_id: _s, ...fields } = audio;
    expect(encodeClientMessage(mediaMetadata("audio", SID, fields as never))).toBe(JSON.stringify(audio));
    const { type: _ft, session_id: _fs, ...ffields } = frame;
    expect(mediaMetadata("frame", SID, ffields as never)).toEqual(frame as never);
  });

  test("an error message names its item by chunk_index or frame_index", () => {
    expect(erroredItem({ type: "error", code: "SIZE_MISMATCH", message: "", chunk_index: 4 })).toEqual({ kind: "audio", index: 4 });
    expect(erroredItem({ type: "error", code: "SIZE_MISMATCH", message: "", frame_index: 0 })).toEqual({ kind: "frame", index: 0 });
    expect(erroredItem({ type: "error", code: "SESSION_MISMATCH", message: "" })).toBeNull();
    expect(indexField("audio", 2)).toEqual({ chunk_index: 2 });
    expect(indexField("frame", 2)).toEqual({ frame_index: 2 });
  });
});


describe("inRanges (session_init_ack stored)", () => {
  test("inside, on the edges, in a gap, outside; malformed lists never match", () => {
    const ranges: [number, number][] = [[0, 2], [4, 9], [12, 12]];
    expect([0, 1, 2, 4, 9, 12].map((i) => inRanges(ranges, i))).toEqual([true, true, true, true, true, true]);
    expect([3, 10, 11, 13, 1_000_000].map((i) => inRanges(ranges, i))).toEqual([false, false, false, false, false]);
    expect(inRanges([], 0)).toBe(false);
    expect(inRanges(undefined, 0)).toBe(false);
    expect(inRanges("0-9" as never, 0)).toBe(false);
    expect(inRanges([null] as never, 0)).toBe(false);
  });
});

describe("capture_event", () => {
  const ev = { type: "capture_event", session_id: SID, event_index: 3, kind: "silence", phase: "began", at: "2025-12-16T10:31:20.500Z", detail: { seconds: 20, device: "default" } };
  test("parses, absent detail reads as null", () => {
    expect(parseClientMessage(JSON.stringify(ev))).toEqual(ev as never);
    const { detail: _d, ...bare } = ev;
    expect(parseClientMessage(JSON.stringify(bare))).toEqual({ ...bare, detail: null } as never);
  });
  test.each([
    [{ kind: "shouting" }, "kind"],
    [{ phase: "maybe" }, "phase"],
    [{ event_index: -1 }, "event_index"],
    [{ at: "yesterday" }, "at"],
    [{ detail: [1] }, "detail"],
    [{ detail: { Bad: 1 } }, "detail"],
    [{ detail: { nested: { a: 1 } } }, "detail"],
    [{ detail: { long: "x".repeat(600) } }, "detail"],
  ])("refuses %j (field %s)", (patch, field) => {
    let err: unknown;
    try {
      parseClientMessage(JSON.stringify({ ...ev, ...patch }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WireError);
    expect({ code: (err as WireError).code, field: (err as WireError).details.field }).toEqual({ code: "INVALID_MESSAGE", field });
  });
});
