import { describe, expect, test } from "bun:test";
import { AppError } from "../../shared/errors";
import { admitBlob, dateToMs, decideOpen, isCanonicalUuid, msToIso, requireSessionId, rowToSessionInfo, type SessionRow } from "./session";

const SID = "0b7e6f7c-3f1a-4c55-9a43-6f2d3c1b2a10";

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof AppError ? e.code : "not-an-AppError";
  }
  return undefined;
}

describe("uuid", () => {
  test("canonical lowercase only", () => {
    expect(isCanonicalUuid(SID)).toBe(true);
    expect(isCanonicalUuid(SID.toUpperCase())).toBe(false);
    expect(isCanonicalUuid(SID.replaceAll("-", ""))).toBe(false);
    expect(code(() => requireSessionId("nope"))).toBe("INVALID_SESSION_ID");
  });
});

describe("timestamps", () => {
  test("ms <-> Date", () => {
    expect(dateToMs(null)).toBe(0);
    expect(dateToMs(new Date(1700000000123))).toBe(1700000000123);
    expect(msToIso(0)).toBeNull();
    expect(msToIso(-5)).toBeNull();
    expect(msToIso(1700000000123)).toBe("2023-11-14T22:13:20.123Z");
    expect(msToIso(8.64e15 + 1)).toBeNull();
  });
});

describe("rowToSessionInfo", () => {
  test("maps a row, BIGINT strings and NULLs", () => {
    const row: SessionRow = {
      id: "7",
      session_id: SID,
      interview_session_id: "42",
      user_id: null,
      status: "abandoned",
      total_chunks: 3,
      total_frames: 15,
      storage_path: "/media/x",
      started_at: new Date(1000),
      last_activity: new Date(2000),
      completed_at: null,
    };
    expect(rowToSessionInfo(row)).toEqual({
      sessionId: SID,
      status: 3,
      totalChunks: 3,
      totalFrames: 15,
      startedAtMs: 1000,
      lastActivityMs: 2000,
      completedAtMs: 0,
      interviewSessionId: 42,
      userId: 0,
    });
  });
});

describe("decideOpen", () => {
  const input = { sessionId: SID, storagePath: "" };
  test("active resumes, abandoned reactivates", () => {
    expect(decideOpen({ status: "active", interview_session_id: null }, input)).toBe("resume");
    expect(decideOpen({ status: "abandoned", interview_session_id: "4" }, input)).toBe("reactivate");
  });
  test("same interview id is fine, another is a mismatch", () => {
    expect(decideOpen({ status: "active", interview_session_id: "4" }, { ...input, interviewSessionId: 4 })).toBe("resume");
    expect(code(() => decideOpen({ status: "active", interview_session_id: "4" }, { ...input, interviewSessionId: 5 }))).toBe("SESSION_MISMATCH");
    expect(code(() => decideOpen({ status: "active", interview_session_id: null }, { ...input, interviewSessionId: 5 }))).toBe("SESSION_MISMATCH");
  });
  test("completed refuses", () => {
    expect(code(() => decideOpen({ status: "completed", interview_session_id: null }, input))).toBe("SESSION_COMPLETED");
  });
});

describe("admitBlob", () => {
  test("unknown and completed sessions refuse blobs", () => {
    expect(admitBlob(undefined)?.code).toBe("SESSION_NOT_FOUND");
    expect(admitBlob("completed")?.code).toBe("SESSION_COMPLETED");
    expect(admitBlob("active")).toBeNull();
    expect(admitBlob("abandoned")).toBeNull();
  });
});
