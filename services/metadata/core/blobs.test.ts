import { describe, expect, test } from "bun:test";
import { AppError } from "../../shared/errors";
import { blobKey, decideOutcome, decideOutcomes, itemsToInsert, missingIndices, planBatch, validateClaimedTotal, validateItem } from "./blobs";
import type { BlobItem, SessionRef } from "./model";

const S1 = "11111111-1111-4111-8111-111111111111";
const S2 = "22222222-2222-4222-8222-222222222222";
const S3 = "33333333-3333-4333-8333-333333333333";
const SHA_A = "a".repeat(64);
const SHA_B = "b".repeat(64);

function audio(sessionId: string, chunkIndex: number, sha = SHA_A): BlobItem {
  return {
    kind: "audio",
    record: { sessionId, chunkIndex, filePath: `a/${chunkIndex}`, fileSize: 10, mimeType: "audio/webm", startTimestampMs: 0, endTimestampMs: 0, durationMs: 10000, sha256Hex: sha, ownerEpoch: 1 },
  };
}
function frame(sessionId: string, frameIndex: number, chunkIndex = 0, sha = SHA_A): BlobItem {
  return {
    kind: "frame",
    record: { sessionId, frameIndex, chunkIndex, filePath: `f/${frameIndex}`, fileSize: 10, mimeType: "image/jpeg", timestampMs: 0, offsetMs: 0, sha256Hex: sha, ownerEpoch: 1 },
  };
}

const sessions = new Map<string, SessionRef>([
  [S1, { id: "1", status: "active", ownerEpoch: 1 }],
  [S2, { id: "2", status: "completed", ownerEpoch: 1 }],
]);

describe("validateItem", () => {
  test("accepts a good item, names the bad field", () => {
    expect(validateItem(audio(S1, 0))).toBeNull();
    expect(validateItem(audio("x", 0))?.code).toBe("INVALID_SESSION_ID");
    expect(validateItem(audio(S1, 0, "ABC"))?.details.field).toBe("sha256_hex");
    expect(validateItem({ ...audio(S1, 0), record: { ...(audio(S1, 0).record as any), filePath: "" } } as BlobItem)?.details.field).toBe("file_path");
    expect(validateItem({ ...audio(S1, 0), record: { ...(audio(S1, 0).record as any), fileSize: -1 } } as BlobItem)?.details.field).toBe("file_size");
  });
});

describe("planBatch", () => {
  test("early errors, admitted items and in-batch duplicates", () => {
    const items = [audio(S1, 0), audio(S2, 0), audio(S3, 0), frame(S1, 0), audio(S1, 0, SHA_B), audio("bad", 1)];
    const plan = planBatch(items, sessions);
    expect((plan.early.get(1) as { error: AppError }).error.code).toBe("SESSION_COMPLETED");
    expect((plan.early.get(2) as { error: AppError }).error.code).toBe("SESSION_NOT_FOUND");
    expect((plan.early.get(5) as { error: AppError }).error.code).toBe("INVALID_SESSION_ID");
    expect(plan.admitted.map((p) => [p.pos, p.key, p.first])).toEqual([
      [0, "1:audio:0", true],
      [3, "1:frame:0", true],
      [4, "1:audio:0", false],
    ]);
  });
});

describe("itemsToInsert", () => {
  test("valid items, first of their (session, kind, index); planBatch marks the same items first", () => {
    const items = [audio(S1, 0), audio(S1, 0, SHA_B), frame(S1, 0), audio(S2, 0), audio(S3, 0), audio(S3, 0), audio(S1, 1, "bad"), audio("bad", 2), audio(S1, 1)];
    const sent = itemsToInsert(items);
    expect(sent.map((i) => items.indexOf(i))).toEqual([0, 2, 3, 4, 8]);
    const first = planBatch(items, sessions).admitted.filter((p) => p.first).map((p) => p.item);
    expect(first).toEqual(sent.filter((i) => i.record.sessionId === S1));
  });
});

describe("outcomes", () => {
  test("decideOutcome", () => {
    expect(decideOutcome(SHA_A, true, SHA_A)).toBe("created");
    expect(decideOutcome(SHA_A, false, SHA_A)).toBe("identical");
    expect(decideOutcome(SHA_A, false, SHA_B)).toBe("conflict");
    expect(decideOutcome(SHA_A, false, undefined)).toBe("conflict");
  });

  test("decideOutcomes: created, in-batch identical and conflict", () => {
    const items = [audio(S1, 0), audio(S1, 0), audio(S1, 0, SHA_B), frame(S1, 4), audio(S1, 1), audio(S3, 0)];
    const plan = planBatch(items, sessions);
    const inserted = new Set([blobKey("1", "audio", 0), blobKey("1", "frame", 4)]);
    const stored = new Map([
      [blobKey("1", "audio", 0), SHA_A],
      [blobKey("1", "audio", 1), SHA_B], // existed before with other bytes
    ]);
    const results = decideOutcomes(items.length, plan, inserted, stored);
    expect(results.map((r) => ("outcome" in r ? r.outcome : r.error.code))).toEqual([
      "created",
      "identical",
      "conflict",
      "created",
      "conflict",
      "SESSION_NOT_FOUND",
    ]);
  });
});

describe("missingIndices", () => {
  test("indices in [0, claimed) without a row", () => {
    expect(missingIndices(5, [0, 2, 4, 9])).toEqual([1, 3]);
    expect(missingIndices(0, [])).toEqual([]);
    expect(missingIndices(3, [])).toEqual([0, 1, 2]);
  });
  test("claimed totals are bounded", () => {
    expect(validateClaimedTotal(10, "total_chunks")).toBe(10);
    expect(() => validateClaimedTotal(-1, "total_chunks")).toThrow(AppError);
    expect(() => validateClaimedTotal(2_000_000, "total_chunks")).toThrow(AppError);
  });
});
