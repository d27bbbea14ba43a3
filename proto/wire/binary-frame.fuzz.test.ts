/**
 * Property tests of the binary frame codec (fast-check; a failure prints its seed and the
 * shrunk counterexample): any bytes decode or are refused with MALFORMED_BINARY_HEADER, nothing
 * else; valid frames round-trip; the encoder refuses bad arguments with its documented codes only.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { binaryFrameArb, byteDamageArb, DECODE_ERROR_CODES, ENCODE_ERROR_CODES, fuzzRuns, indexArb, kindArb, sessionIdArb } from "./arbitraries";
import { decodeBinaryFrame, encodeBinaryFrame, encodeHeader, HEADER_BYTES } from "./binary-frame";
import { WireError } from "./errors";
import { isBlobIndex, isCanonicalUuid } from "./ids";

/** Runs fn; a throw must be a WireError with one of `codes`. Returns the result, or null when refused. */
function refusedOnlyWith<T>(codes: readonly string[], fn: () => T): T | null {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof WireError)) throw new Error(`threw a non-WireError: ${String(e)}`, { cause: e });
    if (!codes.includes(e.code)) throw new Error(`threw undocumented code ${e.code}: ${e.message}`);
    return null;
  }
}

/** The same bytes at a non-zero offset of a larger buffer (as a WebSocket message may arrive). */
const atOffset = (b: Uint8Array, offset: number): Uint8Array => {
  const big = new Uint8Array(offset + b.length + 3);
  big.set(b, offset);
  return big.subarray(offset, offset + b.length);
};

/** A decoded frame is exactly what its bytes say, and encodes back to them. */
function checkDecoded(bytes: Uint8Array, f: ReturnType<typeof decodeBinaryFrame>) {
  expect(bytes.length).toBeGreaterThanOrEqual(HEADER_BYTES);
  expect(isCanonicalUuid(f.sessionId)).toBe(true);
  expect(isBlobIndex(f.index)).toBe(true);
  expect(f.blob.length).toBe(bytes.length - HEADER_BYTES);
  expect(encodeBinaryFrame(f.sessionId, f.kind, f.index, f.blob)).toEqual(Uint8Array.from(bytes));
}

describe("binary frame codec, fuzzed", () => {
  test("random bytes decode or are refused with MALFORMED_BINARY_HEADER", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 128 }), fc.nat(7), (bytes, offset) => {
        const view = atOffset(bytes, offset);
        const f = refusedOnlyWith(DECODE_ERROR_CODES, () => decodeBinaryFrame(view));
        if (f) checkDecoded(view, f);
      }),
      { numRuns: fuzzRuns(2000) },
    );
  });

  test("damaged valid frames decode or are refused with MALFORMED_BINARY_HEADER", () => {
    fc.assert(
      fc.property(binaryFrameArb(), fc.array(byteDamageArb, { minLength: 1, maxLength: 3 }), fc.nat(7), (frame, damage, offset) => {
        const view = atOffset(
          damage.reduce((b, d) => d(b), frame),
          offset,
        );
        const f = refusedOnlyWith(DECODE_ERROR_CODES, () => decodeBinaryFrame(view));
        if (f) checkDecoded(view, f);
        // Shorter than the header is always refused.
        if (view.length < HEADER_BYTES) expect(f).toBeNull();
      }),
      { numRuns: fuzzRuns(2000) },
    );
  });

  test("encode → decode round-trips every valid frame, at any buffer offset", () => {
    fc.assert(
      fc.property(sessionIdArb, kindArb, indexArb, fc.uint8Array({ maxLength: 256 }), fc.nat(7), (sid, kind, index, blob, offset) => {
        const bytes = encodeBinaryFrame(sid, kind, index, blob);
        const f = decodeBinaryFrame(atOffset(bytes, offset));
        expect(f.sessionId).toBe(sid);
        expect(f.kind).toBe(kind);
        expect(f.index).toBe(index);
        expect(Uint8Array.from(f.blob)).toEqual(blob);
        // The header alone, written into a buffer the browser then joins with the blob, is the same bytes.
        expect(encodeHeader(sid, kind, index)).toEqual(bytes.subarray(0, HEADER_BYTES));
      }),
      { numRuns: fuzzRuns(1000) },
    );
  });

  test("the encoder refuses bad session ids and indices with its documented codes only", () => {
    const anyIndex = fc.oneof(indexArb, fc.integer(), fc.double(), fc.constantFrom(-1, 2 ** 32, Number.NaN, Infinity, 0.5));
    const anySid = fc.oneof(sessionIdArb, fc.string({ maxLength: 40 }), sessionIdArb.map((s) => s.toUpperCase()), fc.string({ minLength: 36, maxLength: 36, unit: "binary" }));
    fc.assert(
      fc.property(anySid, kindArb, anyIndex, (sid, kind, index) => {
        const out = refusedOnlyWith(ENCODE_ERROR_CODES, () => encodeHeader(sid, kind, index));
        expect(out !== null).toBe(isCanonicalUuid(sid) && isBlobIndex(index));
      }),
      { numRuns: fuzzRuns(2000) },
    );
  });
});
