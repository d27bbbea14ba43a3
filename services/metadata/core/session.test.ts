import { describe, expect, test } from "bun:test";
import { AppError } from "../../shared/errors";
import { admitBlob, decideOpen, requireSessionId, STATUS_AFTER_BLOB } from "./session";

const SID = "0b7e6f7c-3f1a-4c55-9a43-6f2d3c1b2a10";

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof AppError ? e.code : "not-an-AppError";
  }
  return undefined;
}

describe("session ids", () => {
  test("canonical lowercase only", () => {
    expect(requireSessionId(SID)).toBe(SID);
    expect(code(() => requireSessionId(SID.toUpperCase()))).toBe("INVALID_SESSION_ID");
    expect(code(() => requireSessionId("nope"))).toBe("INVALID_SESSION_ID");
  });
});

describe("decideOpen", () => {
  const input = { sessionId: SID, storagePath: "", ownerInstance: "gw-1" };
  test("active stays active, abandoned comes back to life", () => {
    expect(decideOpen({ status: "active", interviewSessionId: null, userId: null }, input)).toBe("active");
    expect(decideOpen({ status: "abandoned", interviewSessionId: 4, userId: null }, input)).toBe("active");
  });
  test("same interview id is fine, another is a mismatch", () => {
    expect(decideOpen({ status: "active", interviewSessionId: 4, userId: null }, { ...input, interviewSessionId: 4 })).toBe("active");
    expect(code(() => decideOpen({ status: "active", interviewSessionId: 4, userId: null }, { ...input, interviewSessionId: 5 }))).toBe("SESSION_MISMATCH");
    expect(code(() => decideOpen({ status: "active", interviewSessionId: null, userId: null }, { ...input, interviewSessionId: 5 }))).toBe("SESSION_MISMATCH");
  });
  test("same user id is fine; another user, or a user for an ownerless session, is a mismatch", () => {
    const owned = { status: "active", interviewSessionId: 4, userId: 0 } as const;
    expect(decideOpen(owned, { ...input, interviewSessionId: 4, userId: 0 })).toBe("active");
    expect(decideOpen(owned, input)).toBe("active");
    expect(code(() => decideOpen(owned, { ...input, interviewSessionId: 4, userId: 1 }))).toBe("SESSION_MISMATCH");
    expect(code(() => decideOpen({ ...owned, userId: null }, { ...input, interviewSessionId: 4, userId: 0 }))).toBe("SESSION_MISMATCH");
  });
  test("completed refuses", () => {
    expect(code(() => decideOpen({ status: "completed", interviewSessionId: null, userId: null }, input))).toBe("SESSION_COMPLETED");
  });
});

describe("admitBlob", () => {
  test("unknown and completed sessions refuse blobs", () => {
    expect(admitBlob(undefined)?.code).toBe("SESSION_NOT_FOUND");
    expect(admitBlob("completed")?.code).toBe("SESSION_COMPLETED");
    expect(admitBlob("active")).toBeNull();
    expect(admitBlob("abandoned")).toBeNull();
  });
  test("a blob revives an abandoned session; completed ones take none", () => {
    expect(STATUS_AFTER_BLOB).toEqual({ active: "active", abandoned: "active", completed: null });
  });
});
