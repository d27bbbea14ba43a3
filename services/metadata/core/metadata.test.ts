import { describe, expect, test } from "bun:test";
import { AppError } from "../../shared/errors";
import { MemorySessionRepo } from "../adapters/memory-session-repo";
import { Metadata } from "./metadata";
import type { BlobItem, ItemResult } from "./model";

const S1 = "11111111-1111-4111-8111-111111111111";
const S2 = "22222222-2222-4222-8222-222222222222";
const GW = "gw-1";
const sha = (n: number) => n.toString(16).padStart(64, "0");

function audio(sessionId: string, chunkIndex: number, s = sha(chunkIndex), ownerEpoch = 1): BlobItem {
  return {
    kind: "audio",
    record: { sessionId, chunkIndex, filePath: `a/${chunkIndex}`, fileSize: 1, mimeType: "audio/webm", startTimestampMs: 0, endTimestampMs: 0, durationMs: 0, sha256Hex: s, ownerEpoch },
  };
}
function frame(sessionId: string, frameIndex: number, s = sha(frameIndex), ownerEpoch = 1): BlobItem {
  return {
    kind: "frame",
    record: { sessionId, frameIndex, chunkIndex: 0, filePath: `f/${frameIndex}`, fileSize: 1, mimeType: "image/jpeg", timestampMs: 0, offsetMs: 0, sha256Hex: s, ownerEpoch },
  };
}
const answers = (rs: ItemResult[]) => rs.map((r) => ("outcome" in r ? r.outcome : r.error.code));

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "NO_ERROR";
  } catch (e) {
    return e instanceof AppError ? e.code : "NOT_APP_ERROR";
  }
}

function setup() {
  let now = 1_000_000;
  const repo = new MemorySessionRepo(() => now);
  return { repo, core: new Metadata(repo), tick: (ms: number) => (now += ms) };
}

describe("openSession", () => {
  test("creates, then resumes; another interview id is a mismatch; unknown interview refused", async () => {
    const { core } = setup();
    const iv = await core.createInterviewSession("t");
    expect((await core.openSession({ sessionId: S1, interviewSessionId: iv, storagePath: "p", ownerInstance: GW })).resumed).toBe(false);
    const again = await core.openSession({ sessionId: S1, interviewSessionId: iv, storagePath: "p", ownerInstance: GW });
    expect(again.resumed).toBe(true);
    expect(again.session).toMatchObject({ sessionId: S1, status: "active", interviewSessionId: iv, userId: null });
    expect(await codeOf(core.openSession({ sessionId: S1, interviewSessionId: iv + 1, storagePath: "p", ownerInstance: GW }))).toBe("SESSION_MISMATCH");
    expect(await codeOf(core.openSession({ sessionId: S2, interviewSessionId: 999, storagePath: "p", ownerInstance: GW }))).toBe("INTERVIEW_SESSION_NOT_FOUND");
    expect(await codeOf(core.openSession({ sessionId: "nope", storagePath: "p", ownerInstance: GW }))).toBe("INVALID_SESSION_ID");
  });

  test("a new session has no stored ranges; a resumed one lists its rows as runs, this session's only", async () => {
    const { core } = setup();
    expect((await core.openSession({ sessionId: S1, storagePath: "p", ownerInstance: GW })).stored).toBeNull();
    await core.openSession({ sessionId: S2, storagePath: "p", ownerInstance: GW });
    expect((await core.openSession({ sessionId: S1, storagePath: "p", ownerInstance: GW })).stored).toEqual({ chunks: [], frames: [], chunksTruncated: false, framesTruncated: false });
    // S1 was opened twice: its lease is at epoch 2.
    await core.recordBlobs([0, 1, 2, 4, 5, 6, 7, 8, 9].map((i) => audio(S1, i, sha(i), 2)));
    await core.recordBlobs([frame(S1, 3, sha(3), 2), audio(S2, 3), frame(S2, 0)]);
    expect((await core.openSession({ sessionId: S1, storagePath: "p", ownerInstance: GW })).stored).toEqual({
      chunks: [[0, 2], [4, 9]],
      frames: [[3, 3]],
      chunksTruncated: false,
      framesTruncated: false,
    });
  });

  test("interview sessions: found by id, INTERVIEW_SESSION_NOT_FOUND otherwise", async () => {
    const { core } = setup();
    const iv = await core.createInterviewSession("round 2");
    expect(await core.getInterviewSession(iv)).toMatchObject({ interviewSessionId: iv, title: "round 2" });
    for (const id of [iv + 1, 0, -1, 1.5]) expect(await codeOf(core.getInterviewSession(id))).toBe("INTERVIEW_SESSION_NOT_FOUND");
  });

  test("a session keeps its user: another user_id is a mismatch", async () => {
    const { core } = setup();
    const iv = await core.createInterviewSession("t");
    await core.openSession({ sessionId: S1, interviewSessionId: iv, userId: 42, storagePath: "p", ownerInstance: GW });
    expect((await core.openSession({ sessionId: S1, interviewSessionId: iv, userId: 42, storagePath: "p", ownerInstance: GW })).resumed).toBe(true);
    expect(await codeOf(core.openSession({ sessionId: S1, interviewSessionId: iv, userId: 43, storagePath: "p", ownerInstance: GW }))).toBe("SESSION_MISMATCH");
  });

  test("an abandoned session comes back to life; a completed one refuses", async () => {
    const { core, tick } = setup();
    await core.openSession({ sessionId: S1, storagePath: "p", ownerInstance: GW });
    await core.openSession({ sessionId: S2, storagePath: "p", ownerInstance: GW });
    tick(10_000);
    expect(await core.abandonIdleSessions(5_000, 10)).toEqual([S1, S2]);
    expect((await core.getSessionStatus(S1)).status).toBe("abandoned");
    expect((await core.openSession({ sessionId: S1, storagePath: "p", ownerInstance: GW })).session.status).toBe("active");
    await core.completeSession(S2, 0, 0, 1);
    expect(await codeOf(core.openSession({ sessionId: S2, storagePath: "p", ownerInstance: GW }))).toBe("SESSION_COMPLETED");
  });
});

describe("recordBlobs", () => {
  test("every outcome and item error of one batch, exact totals", async () => {
    const { core } = setup();
    await core.openSession({ sessionId: S1, storagePath: "p", ownerInstance: GW });
    await core.openSession({ sessionId: S2, storagePath: "p", ownerInstance: GW });
    await core.completeSession(S2, 0, 0, 1);
    expect(answers(await core.recordBlobs([audio(S1, 0), audio(S1, 1)]))).toEqual(["created", "created"]);
    const results = await core.recordBlobs([
      audio(S1, 2),
      audio(S1, 0),
      audio(S1, 1, sha(99)),
      audio(S1, 3),
      audio(S1, 3),
      audio(S1, 3, sha(98)),
      frame(S1, 0),
      frame(S1, 0, sha(97)),
      audio(crypto.randomUUID(), 0),
      audio(S2, 0),
      audio("not-a-uuid", 0),
      audio(S1, 4, "not-a-sha"),
    ]);
    expect(answers(results)).toEqual([
      "created",
      "identical",
      "conflict",
      "created",
      "identical",
      "conflict",
      "created",
      "conflict",
      "SESSION_NOT_FOUND",
      "SESSION_COMPLETED",
      "INVALID_SESSION_ID",
      "INVALID_MESSAGE",
    ]);
    expect(await core.getSessionStatus(S1)).toMatchObject({ status: "active", totalChunks: 4, totalFrames: 1 });
    expect(await core.getSessionStatus(S2)).toMatchObject({ status: "completed", totalChunks: 0, totalFrames: 0 });
  });

  test("a blob revives an abandoned session", async () => {
    const { core, tick } = setup();
    await core.openSession({ sessionId: S1, storagePath: "p", ownerInstance: GW });
    tick(10_000);
    await core.abandonIdleSessions(5_000, 10);
    expect(answers(await core.recordBlobs([audio(S1, 0)]))).toEqual(["created"]);
    expect((await core.getSessionStatus(S1)).status).toBe("active");
  });

  test("a batch with nothing to write reaches no repository", async () => {
    const { repo, core } = setup();
    let writes = 0;
    const write = repo.writeBlobRows.bind(repo);
    repo.writeBlobRows = (items) => (writes++, write(items));
    expect(answers(await core.recordBlobs([audio("bad", 0), audio(S1, 0, "bad")]))).toEqual(["INVALID_SESSION_ID", "INVALID_MESSAGE"]);
    expect(await core.recordBlobs([])).toEqual([]);
    expect(writes).toBe(0);
  });

  test("a failed batch is retried item by item, except when the database is gone", async () => {
    const repo = new MemorySessionRepo();
    const splits: number[] = [];
    // Fails any batch of several items, and the item with sha(66) alone (a bad value).
    let failWith = new AppError("INVALID_MESSAGE", "a field value is out of range");
    const write = repo.writeBlobRows.bind(repo);
    repo.writeBlobRows = (items) => (items.length > 1 || items[0]!.record.sha256Hex === sha(66) ? Promise.reject(failWith) : write(items));
    const core = new Metadata(repo, { onBatchSplit: (size) => splits.push(size) });
    await core.openSession({ sessionId: S1, storagePath: "p", ownerInstance: GW });
    expect(answers(await core.recordBlobs([audio(S1, 0), audio(S1, 1, sha(66)), audio(S1, 2)]))).toEqual(["created", "INVALID_MESSAGE", "created"]);
    expect(splits).toEqual([3]);
    failWith = new AppError("UPSTREAM_UNAVAILABLE");
    expect(answers(await core.recordBlobs([audio(S1, 3), audio(S1, 4)]))).toEqual(["UPSTREAM_UNAVAILABLE", "UPSTREAM_UNAVAILABLE"]);
    expect(splits).toEqual([3]);
  });
});

describe("completeSession", () => {
  test("idempotent, missing indices against the claims", async () => {
    const { core, tick } = setup();
    await core.openSession({ sessionId: S1, storagePath: "p", ownerInstance: GW });
    await core.recordBlobs([audio(S1, 0), audio(S1, 2), frame(S1, 1), audio(S1, 9)]);
    const first = await core.completeSession(S1, 4, 3, 1);
    expect(first).toMatchObject({ missingChunkIndices: [1, 3], missingFrameIndices: [0, 2] });
    expect(first.session.status).toBe("completed");
    tick(1000);
    const again = await core.completeSession(S1, 4, 3, 1);
    expect(again.session.completedAtMs).toBe(first.session.completedAtMs);
    expect(answers(await core.recordBlobs([audio(S1, 1)]))).toEqual(["SESSION_COMPLETED"]);
  });

  test("refusals", async () => {
    const { core } = setup();
    expect(await codeOf(core.completeSession(S1, 0, 0, 1))).toBe("SESSION_NOT_FOUND");
    expect(await codeOf(core.completeSession("x", 0, 0, 1))).toBe("INVALID_SESSION_ID");
    expect(await codeOf(core.completeSession(S1, -1, 0, 1))).toBe("INVALID_MESSAGE");
    expect(await codeOf(core.getSessionStatus(S1))).toBe("SESSION_NOT_FOUND");
    expect(await codeOf(core.abandonIdleSessions(-1, 1))).toBe("INVALID_MESSAGE");
  });
});

describe("leases", () => {
  test("each OpenSession takes the lease under a new epoch; the old epoch's records are fenced out", async () => {
    const { core } = setup();
    const first = await core.openSession({ sessionId: S1, storagePath: "p", ownerInstance: "gw-a" });
    expect(first.session).toMatchObject({ ownerEpoch: 1, isConnected: true });
    expect(answers(await core.recordBlobs([audio(S1, 0, sha(0), 1)]))).toEqual(["created"]);
    const second = await core.openSession({ sessionId: S1, storagePath: "p", ownerInstance: "gw-b" });
    expect(second.session.ownerEpoch).toBe(2);
    // The old writer is refused, changes nothing; the new one writes, and re-sends its own.
    const stale = await core.recordBlobs([audio(S1, 1, sha(1), 1), frame(S1, 0, sha(0), 1)]);
    expect(answers(stale)).toEqual(["SESSION_TAKEN_OVER", "SESSION_TAKEN_OVER"]);
    expect((stale[0] as { error: AppError }).error.reason).toBe("stale_epoch");
    expect(answers(await core.recordBlobs([audio(S1, 0, sha(0), 2), audio(S1, 1, sha(1), 2)]))).toEqual(["identical", "created"]);
    expect(answers(await core.recordBlobs([audio(S1, 2, sha(2), 7)]))).toEqual(["SESSION_TAKEN_OVER"]);
    expect((await core.getSessionStatus(S1)).totalChunks).toBe(2);
  });

  test("a stale item ahead of the owner's same index in one batch does not keep the owner's out", async () => {
    const { core } = setup();
    await core.openSession({ sessionId: S1, storagePath: "p", ownerInstance: "gw-a" });
    await core.openSession({ sessionId: S1, storagePath: "p", ownerInstance: "gw-b" });
    expect(answers(await core.recordBlobs([audio(S1, 0, sha(9), 1), audio(S1, 0, sha(0), 2)]))).toEqual(["SESSION_TAKEN_OVER", "created"]);
  });

  test("renewLeases answers the lost ones and keeps the instance connected; the TTL ends it", async () => {
    const { core, tick } = setup();
    await core.openSession({ sessionId: S1, storagePath: "p", ownerInstance: "gw-a" });
    await core.openSession({ sessionId: S2, storagePath: "p", ownerInstance: "gw-a" });
    await core.openSession({ sessionId: S2, storagePath: "p", ownerInstance: "gw-b" });
    const unknown = "33333333-3333-4333-8333-333333333333";
    expect(await core.renewLeases("gw-a", [{ sessionId: S1, ownerEpoch: 1 }, { sessionId: S2, ownerEpoch: 1 }, { sessionId: unknown, ownerEpoch: 1 }])).toEqual([S2, unknown]);
    tick(2_000);
    expect((await core.getSessionStatus(S1)).isConnected).toBe(true);
    await core.renewLeases("gw-a", [{ sessionId: S1, ownerEpoch: 1 }]);
    tick(2_500);
    expect((await core.getSessionStatus(S1)).isConnected).toBe(true);
    tick(1_000); // 3.5 s since gw-a's last heartbeat (TTL 3 s)
    expect((await core.getSessionStatus(S1)).isConnected).toBe(false);
    expect((await core.getSessionStatus(S2)).isConnected).toBe(false);
  });

  test("completeSession is fenced too: a connection that lost its session cannot complete it", async () => {
    const { core } = setup();
    await core.openSession({ sessionId: S1, storagePath: "p", ownerInstance: "gw-a" });
    await core.openSession({ sessionId: S1, storagePath: "p", ownerInstance: "gw-b" });
    expect(await codeOf(core.completeSession(S1, 0, 0, 1))).toBe("SESSION_TAKEN_OVER");
    expect((await core.getSessionStatus(S1)).status).toBe("active");
    expect((await core.completeSession(S1, 0, 0, 2)).session.status).toBe("completed");
  });

  test("releaseSession: only the holder of the current epoch; then not connected", async () => {
    const { core } = setup();
    await core.openSession({ sessionId: S1, storagePath: "p", ownerInstance: "gw-a" });
    expect(await core.releaseSession(S1, 1, "gw-b")).toBe(false);
    expect(await core.releaseSession(S1, 2, "gw-a")).toBe(false);
    expect((await core.getSessionStatus(S1)).isConnected).toBe(true);
    expect(await core.releaseSession(S1, 1, "gw-a")).toBe(true);
    expect((await core.getSessionStatus(S1)).isConnected).toBe(false);
    expect(await core.releaseSession(S1, 1, "gw-a")).toBe(false);
  });

  test("a connected session is not abandoned, however quiet", async () => {
    const { core, tick } = setup();
    await core.openSession({ sessionId: S1, storagePath: "p", ownerInstance: "gw-a" });
    await core.openSession({ sessionId: S2, storagePath: "p", ownerInstance: "gw-b" });
    tick(2_000);
    await core.renewLeases("gw-a", [{ sessionId: S1, ownerEpoch: 1 }]);
    tick(2_000);
    expect(await core.abandonIdleSessions(1_000, 10)).toEqual([S2]);
  });

  test("bad lease input is INVALID_MESSAGE", async () => {
    const { core } = setup();
    expect(await codeOf(core.openSession({ sessionId: S1, storagePath: "p", ownerInstance: "" }))).toBe("INVALID_MESSAGE");
    expect(await codeOf(core.renewLeases("x".repeat(257), []))).toBe("INVALID_MESSAGE");
    expect(await codeOf(core.renewLeases("gw", [{ sessionId: "nope", ownerEpoch: 1 }]))).toBe("INVALID_SESSION_ID");
    expect(await codeOf(core.releaseSession(S1, -1, "gw"))).toBe("INVALID_MESSAGE");
  });
});
