import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { CLOSES, MAX_CLOSE_REASON_BYTES, WIRE_ERRORS, WireError } from "../../proto/wire";
import { DOC_PATH, renderedDoc } from "./errors-doc";
import {
  AppError,
  endpointAnswer,
  ENDPOINT_ANSWERS,
  ERRORS,
  toAppError,
  toCloseFrame,
  toErrorMessage,
  toHttpError,
} from "./errors";
import { fromItemError, toGrpcError, toItemError } from "./grpc";

const utf8 = (s: string) => new TextEncoder().encode(s).byteLength;

describe("error table", () => {
  test("docs/errors.md lists every code and close code exactly as the table says (run errors-doc.ts --write)", () => {
    const doc = readFileSync(DOC_PATH, "utf8");
    expect(doc).toBe(renderedDoc(doc));
  });

  test("codes are SCREAMING_SNAKE, error closes are 4000-4999, HTTP statuses are errors, gRPC statuses valid", () => {
    expect(Object.keys(ERRORS)).toEqual(Object.keys(WIRE_ERRORS));
    for (const [code, e] of Object.entries(ERRORS)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
      if (e.close !== null) expect(e.close.code >= 4000 && e.close.code <= 4999).toBe(true);
      expect(e.http).toBeGreaterThanOrEqual(400);
      expect(e.grpc).toBeGreaterThan(0);
      expect(e.grpc).toBeLessThanOrEqual(16);
      expect(utf8(code)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES); // the close reason
    }
  });

  test("every close code has one meaning for the client, and its reason fits a close frame", () => {
    // Error codes may share a close code (TOKEN_INVALID and FORBIDDEN: 4403) when the client does
    // the same after it; the reason (the code's name) tells them apart in logs.
    const thenByClose = new Map<number, string>();
    for (const e of Object.values(ERRORS)) {
      if (e.close === null) continue;
      expect(thenByClose.get(e.close.code) ?? e.close.then).toBe(e.close.then);
      thenByClose.set(e.close.code, e.close.then);
    }
    const closes = [...Object.values(CLOSES).map((c) => c.code), ...thenByClose.keys()];
    expect(new Set(closes).size).toBe(closes.length);
    for (const c of Object.values(CLOSES)) {
      expect(c.code === 1000 || c.code === 1012 || c.code === 1009 || c.code === 1013 || (c.code >= 4000 && c.code <= 4999)).toBe(true);
      expect(utf8(c.reason)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
    }
  });

  test("the media endpoint's own answers carry codes of the table", () => {
    for (const a of Object.values(ENDPOINT_ANSWERS)) expect(Object.hasOwn(ERRORS, a.code)).toBe(true);
    expect(endpointAnswer("UPGRADE_REQUIRED")).toEqual({ status: 426, body: { type: "error", code: "INVALID_MESSAGE", message: "expected a WebSocket upgrade" } });
    expect(endpointAnswer("SHUTTING_DOWN")).toEqual({ status: 503, body: { type: "error", code: "UPSTREAM_UNAVAILABLE", message: "shutting down" } });
    expect(endpointAnswer("TOO_MANY_CONNECTIONS")).toMatchObject({ status: 503, body: { code: "TOO_MANY_CONNECTIONS" } });
    expect(endpointAnswer("ORIGIN_NOT_ALLOWED")).toMatchObject({ status: 403, body: { code: "ORIGIN_NOT_ALLOWED" } });
    // a code that only refuses the upgrade is answered there, with its own HTTP status
    for (const [code, e] of Object.entries(ERRORS)) if (e.refusesUpgrade) expect(ENDPOINT_ANSWERS[code as keyof typeof ENDPOINT_ANSWERS]).toMatchObject({ status: e.http, code });
  });

  test("toAppError keeps AppErrors, maps codec errors with their field, and hides anything else as INTERNAL", () => {
    const e = new AppError("SIZE_MISMATCH", "x", { chunk_index: 3 });
    expect(toAppError(e)).toBe(e);
    const w = toAppError(new WireError("INVALID_MESSAGE", "size is required", { field: "size" }));
    expect([w.code, w.message, w.details]).toEqual(["INVALID_MESSAGE", "size is required", { field: "size" }]);
    const wrapped = toAppError(new Error("secret"));
    expect(wrapped.code).toBe("INTERNAL");
    expect(wrapped.message).not.toContain("secret");
  });
});

describe("one mapper per transport", () => {
  const internal = toAppError(new Error("secret"));

  test("WebSocket: the error message, then a close frame only for closing codes", () => {
    const e = new AppError("SIZE_MISMATCH", "blob has 99 bytes, metadata announced 100", { field: "size" });
    expect(JSON.stringify(toErrorMessage(e, { chunk_index: 1 }))).toBe(
      '{"type":"error","code":"SIZE_MISMATCH","message":"blob has 99 bytes, metadata announced 100","field":"size","chunk_index":1}',
    );
    expect(toCloseFrame(e)).toBeNull();
    expect(toCloseFrame(new AppError("SESSION_TAKEN_OVER"))).toEqual({ code: 4409, reason: "SESSION_TAKEN_OVER" });
    expect(toErrorMessage(internal).message).toBe("internal error");
  });

  test("HTTP: status and body, no details", () => {
    expect(toHttpError(new AppError("INVALID_MESSAGE", "bad title", { field: "title" }))).toEqual({
      status: 400,
      body: { type: "error", code: "INVALID_MESSAGE", message: "bad title" },
    });
    expect(toHttpError(internal)).toEqual({ status: 500, body: { type: "error", code: "INTERNAL", message: "internal error" } });
  });

  test("gRPC: status, the code in trailing metadata", () => {
    const s = toGrpcError(new AppError("INDEX_CONFLICT", "taken"));
    expect(s.code).toBe(ERRORS.INDEX_CONFLICT.grpc);
    expect(s.details).toBe("taken");
    expect(s.metadata?.get("candid-error-code")).toEqual(["INDEX_CONFLICT"]);
    expect(toGrpcError(internal).details).toBe("internal error");
  });

  test("per-item result: there and back again", () => {
    expect(toItemError(new AppError("CHECKSUM_MISMATCH", "sha"))).toEqual({ code: "CHECKSUM_MISMATCH", message: "sha" });
    expect(toItemError(internal)).toEqual({ code: "INTERNAL", message: "internal error" });
    const back = fromItemError({ code: "CHECKSUM_MISMATCH", message: "sha" });
    expect([back.code, back.message]).toEqual(["CHECKSUM_MISMATCH", "sha"]);
    expect(fromItemError({ code: "SOMETHING_NEW", message: "" }).code).toBe("INTERNAL");
    expect(fromItemError({ code: "SESSION_NOT_FOUND", message: "" }).message).toBe(ERRORS.SESSION_NOT_FOUND.description);
  });
});
