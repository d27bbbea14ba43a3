import { describe, expect, test } from "bun:test";
import { AppError } from "../../shared/errors";
import { checkPut, outcomeForExisting, putBlob } from "./blob-store";
import { MemoryBlobStore } from "../adapters/memory-blob-store";
import { sha256Hex } from "./checksum";

const SID = "0b6f3c2e-8d1a-4f5b-9c7e-123456789abc";

describe("checkPut", () => {
  const data = new Uint8Array([1, 2, 3]);
  test("returns the place in the layout and the lowercase digest", () => {
    const c = checkPut({ ref: { sessionId: SID, kind: "frame", index: 9, mediaType: "image/jpeg" }, data, sha256Hex: sha256Hex(data).toUpperCase() });
    expect(c).toMatchObject({ dir: `${SID}/frames`, name: "frame_9.jpg", key: `${SID}/frames/frame_9.jpg` });
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
  test("same digest is identical, anything else a conflict", () => {
    expect(outcomeForExisting("aa", "aa")).toBe("identical");
    expect(outcomeForExisting("aa", "bb")).toBe("conflict");
    expect(outcomeForExisting(undefined, "bb")).toBe("conflict");
  });
});

describe("putBlob", () => {
  const data = new Uint8Array([1, 2, 3]);
  test("a refused put is a rejected promise and reaches no backend", async () => {
    const store = new MemoryBlobStore();
    const p = putBlob(store, { ref: { sessionId: "nope", kind: "audio", index: 0, mediaType: "audio/webm" }, data, sha256Hex: sha256Hex(data) });
    expect(p).toBeInstanceOf(Promise);
    await expect(p).rejects.toMatchObject({ code: "INVALID_SESSION_ID" });
    expect(store.size).toBe(0);
  });
  test("the backend gets the checked put once", async () => {
    const store = new MemoryBlobStore();
    const seen: string[] = [];
    const write = store.write.bind(store);
    store.write = (put) => (seen.push(put.key), write(put));
    const r = await putBlob(store, { ref: { sessionId: SID, kind: "audio", index: 2, mediaType: "audio/webm;codecs=opus" }, data, sha256Hex: sha256Hex(data) });
    expect(r).toEqual({ outcome: "created", location: `memory://${SID}/audio/chunk_2.webm` });
    expect(seen).toEqual([`${SID}/audio/chunk_2.webm`]);
  });
});
