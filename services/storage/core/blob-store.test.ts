import { describe, expect, test } from "bun:test";
import { AppError } from "../../shared/errors";
import { checkPut, outcomeForExisting } from "./blob-store";
import { sha256Hex } from "./checksum";

const SID = "0b6f3c2e-8d1a-4f5b-9c7e-123456789abc";

describe("checkPut", () => {
  const data = new Uint8Array([1, 2, 3]);
  test("returns key and lowercase digest", () => {
    const c = checkPut({ ref: { sessionId: SID, kind: "frame", index: 9, mediaType: "image/jpeg" }, data, sha256Hex: sha256Hex(data).toUpperCase() });
    expect(c.key).toBe(`${SID}/frames/frame_9.jpg`);
    expect(c.sha256Hex).toBe(sha256Hex(data));
  });
  test("validates the ref before the checksum", () => {
    try {
      checkPut({ ref: { sessionId: "nope", kind: "frame", index: 9, mediaType: "image/jpeg" }, data, sha256Hex: "00" });
      throw new Error("expected a throw");
    } catch (e) {
      expect((e as AppError).code).toBe("INVALID_SESSION_ID");
    }
  });
  test("checksum mismatch", () => {
    try {
      checkPut({ ref: { sessionId: SID, kind: "audio", index: 0, mediaType: "audio/webm" }, data, sha256Hex: sha256Hex(new Uint8Array([9])) });
      throw new Error("expected a throw");
    } catch (e) {
      expect((e as AppError).code).toBe("CHECKSUM_MISMATCH");
    }
  });
});

describe("outcomeForExisting", () => {
  test("same digest is IDENTICAL, anything else CONFLICT", () => {
    expect(outcomeForExisting("aa", "aa")).toBe("IDENTICAL");
    expect(outcomeForExisting("aa", "bb")).toBe("CONFLICT");
    expect(outcomeForExisting(undefined, "bb")).toBe("CONFLICT");
  });
});
