import { describe, expect, test } from "bun:test";
import { WireError } from "./errors";
import { parseClientMessage } from "./messages";

// Timestamps the services could not store faithfully are refused at parsing, before anything is
// written (issue 14, part 10). messages.test.ts covers the ISO 8601 format itself.
const SID = "0f8fad5b-d9cb-469f-a165-70867728950e";
const audio = (start: string, end = "2025-12-16T10:30:10Z") => ({
  type: "audio_metadata", session_id: SID, chunk_index: 0, start_timestamp: start, end_timestamp: end, duration_ms: 10000, size: 10,
});
const frame = (timestamp: string) => ({ type: "frame_metadata", session_id: SID, frame_index: 0, chunk_index: 0, timestamp, offset_ms: 0, size: 10 });

function refusal(msg: unknown): { code: string; field?: string } {
  try {
    parseClientMessage(JSON.stringify(msg));
  } catch (e) {
    expect(e).toBeInstanceOf(WireError);
    return { code: (e as WireError).code, field: (e as WireError).details.field };
  }
  return { code: "accepted" };
}

describe("timestamps the services cannot store", () => {
  test("at or before the epoch (0 ms means 'unset' between services)", () => {
    for (const t of ["1970-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z", "0000-01-01T00:00:00Z", "1970-01-01T01:00:00+01:00"]) {
      expect(refusal(frame(t))).toEqual({ code: "INVALID_MESSAGE", field: "timestamp" });
    }
    expect(refusal(frame("1970-01-01T00:00:00.001Z")).code).toBe("accepted");
  });

  test("past 9999-12-31T23:59:59.999Z, e.g. through an offset", () => {
    expect(refusal(frame("9999-12-31T23:59:59.999Z")).code).toBe("accepted");
    expect(refusal(audio("9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59-14:00"))).toEqual({ code: "INVALID_MESSAGE", field: "start_timestamp" });
    expect(refusal(audio("2025-12-16T10:30:00Z", "9999-12-31T23:00:00-01:00"))).toEqual({ code: "INVALID_MESSAGE", field: "end_timestamp" });
  });

  test("JavaScript-only extended years, however written", () => {
    for (const t of ["+275760-09-13T00:00:00.000Z", "275760-09-13T00:00:00Z", "-271821-04-20T00:00:00Z", "+010000-01-01T00:00:00Z", "+002025-12-16T10:30:00Z"]) {
      expect(refusal(frame(t))).toEqual({ code: "INVALID_MESSAGE", field: "timestamp" });
    }
  });

  test("days that do not exist (Date.parse would roll them over)", () => {
    for (const t of ["2025-02-29T10:00:00Z", "2025-02-31T10:00:00Z", "2025-04-31T10:00:00Z", "2100-02-29T10:00:00Z", "2025-12-32T10:00:00Z", "2025-00-10T10:00:00Z"]) {
      expect(refusal(frame(t))).toEqual({ code: "INVALID_MESSAGE", field: "timestamp" });
    }
    for (const t of ["2024-02-29T10:00:00Z", "2000-02-29T10:00:00Z", "2025-12-31T23:59:59.999+05:30"]) expect(refusal(frame(t)).code).toBe("accepted");
  });

  test("session_init and session_complete timestamps too", () => {
    expect(refusal({ type: "session_init", session_id: SID, timestamp: "1960-01-01T00:00:00Z" })).toEqual({ code: "INVALID_MESSAGE", field: "timestamp" });
    expect(refusal({ type: "session_complete", session_id: SID, timestamp: "2025-02-30T00:00:00Z", total_chunks: 0, total_frames: 0 })).toEqual({ code: "INVALID_MESSAGE", field: "timestamp" });
  });
});
