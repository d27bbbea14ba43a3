import { describe, expect, test } from "bun:test";
import type { BlobRef, WriteOutcome } from "../../shared/blob";
import { AppError } from "../../shared/errors";
import { type IngestItem, ingest, isRefusal } from "./ingest";
import type { MetadataService, StorageService } from "./ports";

const SID = "0b6f3c2e-8d1a-4f5b-9c7e-123456789abc";

class Storage implements StorageService {
  blobs = new Set<string>();
  deletes = 0;
  async put(ref: BlobRef) {
    const k = `${ref.kind}/${ref.index}`;
    const outcome: WriteOutcome = this.blobs.has(k) ? "identical" : "created";
    this.blobs.add(k);
    return { outcome, location: `/m/${k}` };
  }
  async delete(ref: BlobRef) {
    this.deletes++;
    this.blobs.delete(`${ref.kind}/${ref.index}`);
  }
}

/** Metadata that answers every record with `answer` (an outcome, or an error it throws). */
function metadata(answer: WriteOutcome | Error): MetadataService {
  const record = async () => {
    if (answer instanceof Error) throw answer;
    return answer;
  };
  return { recordAudio: record, recordFrame: record } as unknown as MetadataService;
}

const frame = (index = 0): IngestItem => ({
  kind: "frame",
  ref: { sessionId: SID, kind: "frame", index, mediaType: "image/jpeg" },
  data: new Uint8Array([1, 2, 3]),
  sha256Hex: "a".repeat(64),
  ownerEpoch: 1,
  placement: { chunkIndex: 0, timestampMs: 1, offsetMs: 0 },
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "NO_ERROR";
  } catch (e) {
    return e instanceof AppError ? e.code : "NOT_APP_ERROR";
  }
}

describe("ingest: a row refused after the blob was created", () => {
  for (const code of ["INVALID_MESSAGE", "SESSION_NOT_FOUND", "SESSION_COMPLETED"] as const) {
    test(`${code}: the new blob is deleted at once and the refusal passes through`, async () => {
      const s = new Storage();
      expect(await codeOf(ingest(s, metadata(new AppError(code)), frame()))).toBe(code);
      expect(s.blobs.size).toBe(0);
      expect(s.deletes).toBe(1);
    });
  }

  test("conflict: deleted, INDEX_CONFLICT", async () => {
    const s = new Storage();
    expect(await codeOf(ingest(s, metadata("conflict"), frame()))).toBe("INDEX_CONFLICT");
    expect(s.blobs.size).toBe(0);
  });

  for (const err of [new AppError("UPSTREAM_UNAVAILABLE"), new AppError("INTERNAL"), new Error("socket hang up")]) {
    test(`a failed call (${err instanceof AppError ? err.code : "unknown error"}) keeps the blob: the row may have committed`, async () => {
      const s = new Storage();
      await codeOf(ingest(s, metadata(err), frame()));
      expect(s.blobs.size).toBe(1);
      expect(s.deletes).toBe(0);
    });
  }

  test("SESSION_TAKEN_OVER keeps the blob: the session's new owner may share it (same key, same bytes)", async () => {
    const s = new Storage();
    expect(await codeOf(ingest(s, metadata(new AppError("SESSION_TAKEN_OVER")), frame()))).toBe("SESSION_TAKEN_OVER");
    expect(s.blobs.size).toBe(1);
    expect(s.deletes).toBe(0);
  });

  test("a blob storage already had (identical) is never deleted, whatever metadata says", async () => {
    const s = new Storage();
    s.blobs.add("frame/0");
    expect(await codeOf(ingest(s, metadata(new AppError("INVALID_MESSAGE")), frame()))).toBe("INVALID_MESSAGE");
    expect(s.blobs.size).toBe(1);
    expect(s.deletes).toBe(0);
  });

  test("a failed delete does not hide the refusal", async () => {
    const s = new Storage();
    s.delete = async () => {
      throw new AppError("UPSTREAM_UNAVAILABLE");
    };
    expect(await codeOf(ingest(s, metadata(new AppError("INVALID_MESSAGE")), frame()))).toBe("INVALID_MESSAGE");
  });

  test("isRefusal", () => {
    expect(isRefusal(new AppError("INVALID_MESSAGE"))).toBe(true);
    expect(isRefusal(new AppError("UPSTREAM_UNAVAILABLE"))).toBe(false);
    expect(isRefusal(new AppError("INTERNAL"))).toBe(false);
    expect(isRefusal(new Error("x"))).toBe(false);
  });
});
