import { describe, expect, test } from "bun:test";
import { AppError } from "../../shared/errors";
import { type BlobRef, baseMediaType, blobKey, checkRef, extensionFor, parseBlobKey } from "./blob-ref";

const SID = "0b6f3c2e-8d1a-4f5b-9c7e-123456789abc";
const ref = (over: Partial<BlobRef> = {}): BlobRef => ({ sessionId: SID, kind: "audio", index: 0, mediaType: "audio/webm", ...over });

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof AppError ? e.code : "NOT_APP_ERROR";
  }
  return undefined;
}

describe("blobKey", () => {
  test("audio chunks by media type", () => {
    expect(blobKey(ref({ index: 0 }))).toBe(`${SID}/audio/chunk_0.webm`);
    expect(blobKey(ref({ index: 17, mediaType: "audio/mp4" }))).toBe(`${SID}/audio/chunk_17.mp4`);
    expect(blobKey(ref({ index: 3, mediaType: "audio/webm;codecs=opus" }))).toBe(`${SID}/audio/chunk_3.webm`);
    expect(blobKey(ref({ index: 4, mediaType: " Audio/MP4 ; codecs=mp4a.40.2" }))).toBe(`${SID}/audio/chunk_4.mp4`);
  });
  test("frames are jpg", () => {
    expect(blobKey(ref({ kind: "frame", index: 42, mediaType: "image/jpeg" }))).toBe(`${SID}/frames/frame_42.jpg`);
    expect(checkRef(ref({ kind: "frame", index: 42, mediaType: "image/jpeg" }))).toMatchObject({ dir: `${SID}/frames`, name: "frame_42.jpg" });
  });
  test("largest index", () => {
    expect(blobKey(ref({ index: 4294967295 }))).toBe(`${SID}/audio/chunk_4294967295.webm`);
  });
});

describe("validation", () => {
  test("session ids must be canonical lowercase UUIDs", () => {
    for (const bad of ["", "not-a-uuid", SID.toUpperCase(), `{${SID}}`, SID.replaceAll("-", ""), `../${SID}`, `${SID}/x`, `${SID} `]) {
      expect(codeOf(() => blobKey(ref({ sessionId: bad })))).toBe("INVALID_SESSION_ID");
    }
  });
  test("kind and media type must match", () => {
    expect(codeOf(() => extensionFor("audio", "image/jpeg"))).toBe("INVALID_MESSAGE");
    expect(codeOf(() => extensionFor("frame", "audio/webm"))).toBe("INVALID_MESSAGE");
    expect(codeOf(() => extensionFor("frame", "image/png"))).toBe("INVALID_MESSAGE");
    expect(codeOf(() => extensionFor("audio", ""))).toBe("INVALID_MESSAGE");
    expect(codeOf(() => extensionFor("video" as never, "audio/webm"))).toBe("INVALID_MESSAGE");
  });
  test("index must be a uint32", () => {
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 32]) expect(codeOf(() => checkRef(ref({ index: bad })))).toBe("INVALID_MESSAGE");
    expect(codeOf(() => checkRef(ref({ index: 7 })))).toBeUndefined();
  });
  test("error details name the field", () => {
    try {
      checkRef(ref({ kind: "frame", mediaType: "audio/webm" }));
      throw new Error("expected a throw");
    } catch (e) {
      expect((e as AppError).details).toEqual({ field: "media_type" });
    }
  });
  test("baseMediaType", () => {
    expect(baseMediaType("audio/webm;codecs=opus")).toBe("audio/webm");
    expect(baseMediaType("IMAGE/JPEG")).toBe("image/jpeg");
  });
});

describe("parseBlobKey", () => {
  test("inverts checkRef for every kind and extension", () => {
    for (const r of [ref({ index: 0 }), ref({ index: 17, mediaType: "audio/mp4" }), ref({ kind: "frame", index: 4294967295, mediaType: "image/jpeg" })]) {
      const key = blobKey(r);
      const parsed = parseBlobKey(key);
      expect(parsed?.key).toBe(key);
      expect(checkRef(parsed!.ref)).toEqual(parsed!);
    }
  });
  test("anything else is not a blob", () => {
    for (const key of [
      `${SID}/audio/.chunk_0.webm.0123456789ab.tmp`,
      `${SID}/audio/chunk_01.webm`,
      `${SID}/audio/chunk_4294967296.webm`,
      `${SID}/audio/chunk_0.jpg`,
      `${SID}/frames/chunk_0.webm`,
      `${SID}/audio/frame_0.jpg`,
      `${SID.toUpperCase()}/audio/chunk_0.webm`,
      `x/${SID}/audio/chunk_0.webm`,
      `${SID}/audio`,
      "README",
    ]) {
      expect(parseBlobKey(key)).toBeNull();
    }
  });
});

describe("manifest", () => {
  const sid = "0f8fad5b-d9cb-469f-a165-70867728950e";
  test("lives at <session>/manifest.json, index 0 only, application/json only; parses back", () => {
    const c = checkRef({ sessionId: sid, kind: "manifest", index: 0, mediaType: "application/json" });
    expect(c.key).toBe(`${sid}/manifest.json`);
    expect(parseBlobKey(c.key)?.ref).toEqual(c.ref);
    expect(() => checkRef({ sessionId: sid, kind: "manifest", index: 1, mediaType: "application/json" })).toThrow(/index/);
    expect(() => checkRef({ sessionId: sid, kind: "manifest", index: 0, mediaType: "image/jpeg" })).toThrow(/media_type/);
    expect(parseBlobKey(`${sid}/other.json`)).toBeNull();
    expect(parseBlobKey(`not-a-uuid/manifest.json`)).toBeNull();
  });
});
