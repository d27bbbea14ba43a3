import { describe, expect, test } from "bun:test";
import { dateToMs, msToIso, rowToSession, type SessionRow } from "./pg-repo";

const SID = "0b7e6f7c-3f1a-4c55-9a43-6f2d3c1b2a10";

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

describe("rowToSession", () => {
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
      owner_epoch: "5",
      owner_instance: "gw-a",
      is_connected: true,
    };
    expect(rowToSession(row)).toEqual({
      sessionId: SID,
      status: "abandoned",
      totalChunks: 3,
      totalFrames: 15,
      startedAtMs: 1000,
      lastActivityMs: 2000,
      completedAtMs: 0,
      interviewSessionId: 42,
      userId: null,
      ownerEpoch: 5,
      isConnected: true,
    });
    expect(rowToSession({ ...row, is_connected: undefined }).isConnected).toBe(false);
  });
});
