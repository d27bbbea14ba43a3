import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { WIRE_ERROR_CODES } from "../../proto/wire/errors";
import { DOC_PATH, renderedDoc } from "./errors-doc";
import { AppError, ERRORS, isErrorCode, toAppError } from "./errors";

describe("error table", () => {
  test("docs/errors.md lists every code exactly as the table says (run errors-doc.ts --write)", () => {
    const doc = readFileSync(DOC_PATH, "utf8");
    expect(doc).toBe(renderedDoc(doc));
  });

  test("codes are SCREAMING_SNAKE, close codes are 4000-4999 or 0, HTTP statuses are errors", () => {
    for (const [code, e] of Object.entries(ERRORS)) {
      expect(code).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(e.ws === 0 || (e.ws >= 4000 && e.ws <= 4999)).toBe(true);
      expect(e.http).toBeGreaterThanOrEqual(400);
      expect(e.grpc).toBeGreaterThan(0);
      expect(e.grpc).toBeLessThanOrEqual(16);
      expect(code.length).toBeLessThanOrEqual(123); // fits a close reason
    }
    const closes = Object.values(ERRORS).map((e) => e.ws).filter(Boolean);
    expect(new Set(closes).size).toBe(closes.length);
  });

  test("every protocol-level code of the wire codec is in the table", () => {
    for (const c of WIRE_ERROR_CODES) expect(isErrorCode(c)).toBe(true);
  });

  test("toAppError keeps AppErrors and hides anything else as INTERNAL", () => {
    const e = new AppError("SIZE_MISMATCH", "x", { chunk_index: 3 });
    expect(toAppError(e)).toBe(e);
    const wrapped = toAppError(new Error("secret"));
    expect(wrapped.code).toBe("INTERNAL");
    expect(wrapped.message).not.toContain("secret");
  });
});
