import { describe, expect, test } from "bun:test";
import { decodeBinaryFrame, encodeBinaryFrame, HEADER_BYTES } from "./binary-frame";
import { isCanonicalUuid } from "./ids";
import { WireError } from "./errors";

const SID = "0f8fad5b-d9cb-469f-a165-70867728950e";

function expectWire(fn: () => unknown, code: string) {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(WireError);
    expect((e as WireError).code).toBe(code as WireError["code"]);
    return;
  }
  throw new Error(`expected WireError ${code}`);
}

describe("binary frame", () => {
  test("encodes the documented layout byte for byte", () => {
    const out = encodeBinaryFrame(SID, "audio", 0x01020304, new Uint8Array([0xaa, 0xbb]));
    expect(out.length).toBe(HEADER_BYTES + 2);
    expect(new TextDecoder().decode(out.subarray(0, 36))).toBe(SID);
    expect(out[36]).toBe(0x61);
    expect([...out.subarray(37, 41)]).toEqual([1, 2, 3, 4]);
    expect([...out.subarray(41)]).toEqual([0xaa, 0xbb]);
    expect(encodeBinaryFrame(SID, "frame", 0, new Uint8Array())[36]).toBe(0x66);
  });

  test("round-trips, and decodes without copying the blob", () => {
    const blob = crypto.getRandomValues(new Uint8Array(1000));
    const enc = encodeBinaryFrame(SID, "frame", 4_294_967_295, blob);
    const dec = decodeBinaryFrame(enc);
    expect(dec).toMatchObject({ sessionId: SID, kind: "frame", index: 4_294_967_295 });
    expect(dec.blob).toEqual(blob);
    expect(dec.blob.buffer).toBe(enc.buffer);
  });

  test("decodes from an offset view", () => {
    const enc = encodeBinaryFrame(SID, "audio", 7, new Uint8Array([1, 2, 3]));
    const padded = new Uint8Array(enc.length + 5);
    padded.set(enc, 5);
    expect(decodeBinaryFrame(padded.subarray(5))).toMatchObject({ index: 7, kind: "audio" });
  });

  test("an empty blob is a valid frame (size checks happen later)", () => {
    expect(decodeBinaryFrame(encodeBinaryFrame(SID, "audio", 1, new Uint8Array())).blob.length).toBe(0);
  });

  test("rejects short frames, bad types and non-canonical session ids", () => {
    expectWire(() => decodeBinaryFrame(new Uint8Array(40)), "MALFORMED_BINARY_HEADER");
    const enc = encodeBinaryFrame(SID, "audio", 1, new Uint8Array([1]));
    const badType = enc.slice();
    badType[36] = 0x78;
    expectWire(() => decodeBinaryFrame(badType), "MALFORMED_BINARY_HEADER");
    const upper = enc.slice();
    upper.set(new TextEncoder().encode(SID.toUpperCase()), 0);
    expectWire(() => decodeBinaryFrame(upper), "MALFORMED_BINARY_HEADER");
    const garbage = enc.slice();
    garbage[8] = 0x5f; // '_' where the first dash belongs
    expectWire(() => decodeBinaryFrame(garbage), "MALFORMED_BINARY_HEADER");
  });

  test("encode refuses what decode would refuse", () => {
    expectWire(() => encodeBinaryFrame("not-a-uuid", "audio", 0, new Uint8Array()), "INVALID_SESSION_ID");
    expectWire(() => encodeBinaryFrame(SID, "audio", -1, new Uint8Array()), "INVALID_MESSAGE");
    expectWire(() => encodeBinaryFrame(SID, "audio", 2 ** 32, new Uint8Array()), "INVALID_MESSAGE");
  });

  test("isCanonicalUuid", () => {
    expect(isCanonicalUuid(SID)).toBe(true);
    expect(isCanonicalUuid(SID.toUpperCase())).toBe(false);
    expect(isCanonicalUuid(`{${SID}}`)).toBe(false);
    expect(isCanonicalUuid(SID.replaceAll("-", ""))).toBe(false);
    expect(isCanonicalUuid("test-123")).toBe(false);
    expect(isCanonicalUuid(42)).toBe(false);
  });
});
