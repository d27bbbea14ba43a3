import { describe, expect, test } from "bun:test";
import { CLOSES, dropsItem, endsSession, isErrorCode, WIRE_ERRORS } from "./errors";

describe("wire error table", () => {
  test("what a client does with each code", () => {
    const codes = Object.keys(WIRE_ERRORS);
    expect(codes.filter(dropsItem)).toEqual(["INVALID_MESSAGE", "SESSION_COMPLETED", "SIZE_MISMATCH", "BLOB_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "INDEX_CONFLICT", "NOT_FOUND"]);
    expect(codes.filter(endsSession)).toEqual(["INVALID_SESSION_ID", "TOKEN_INVALID", "FORBIDDEN", "TOO_MANY_SESSIONS", "SESSION_MISMATCH", "INTERVIEW_SESSION_NOT_FOUND"]);
    expect(dropsItem("SOMETHING_NEW")).toBe(false);
    expect(endsSession("SOMETHING_NEW")).toBe(false);
    expect(isErrorCode("toString")).toBe(false);
  });

  test("the closing codes, and the transport's own closes", () => {
    const closing = Object.entries(WIRE_ERRORS).flatMap(([c, e]) => (e.close === null ? [] : [[c, e.close.code, e.close.then]]));
    expect(closing).toEqual([
      ["MALFORMED_BINARY_HEADER", 4400, "reconnect"],
      ["SESSION_NOT_INITIALIZED", 4401, "reconnect"],
      ["INVALID_SESSION_ID", 4402, "stop"],
      ["SESSION_TAKEN_OVER", 4409, "stop"],
      ["INIT_TIMEOUT", 4408, "reconnect"],
      ["IDLE_TIMEOUT", 4410, "reconnect"],
      ["BUFFER_LIMIT_EXCEEDED", 4429, "reconnect"],
      ["RATE_LIMITED", 4430, "reconnect"],
      ["TOKEN_INVALID", 4403, "stop"],
      ["FORBIDDEN", 4403, "stop"],
      ["TOO_MANY_SESSIONS", 4431, "stop"],
    ]);
    expect(Object.keys(WIRE_ERRORS).filter((c) => WIRE_ERRORS[c as keyof typeof WIRE_ERRORS].refusesUpgrade)).toEqual(["TOO_MANY_CONNECTIONS", "ORIGIN_NOT_ALLOWED"]);
    expect(Object.values(CLOSES).map((c) => [c.code, c.reason])).toEqual([
      [1000, ""],
      [1012, "SERVICE_RESTART"],
      [1009, ""],
      [1013, "BACKPRESSURE"],
      [4000, ""],
    ]);
  });
});
