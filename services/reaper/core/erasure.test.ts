import { describe, expect, test } from "bun:test";
import { AppError } from "../../shared/errors";
import { type ClaimedErasure, type ErasurePorts, eraseOne, mapLimit, type SessionBlob } from "./erasure";

const S1 = "0f8fad5b-d9cb-469f-a165-70867728950e";
const S2 = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";

/** An in-memory world: storage keys per session, rows per session, one erasure and its claim. */
function world(blobsPerSession: Record<string, number>) {
  const stored = new Map<string, Map<string, SessionBlob>>();
  for (const [sid, n] of Object.entries(blobsPerSession)) {
    const m = new Map<string, SessionBlob>();
    for (let i = 0; i < n; i++) m.set(`${sid}/frames/frame_${String(i).padStart(4, "0")}.jpg`, { ref: { sessionId: sid, kind: "frame", index: i, mediaType: "image/jpeg" }, size: 100 + i });
    stored.set(sid, m);
  }
  const rows = new Set(Object.keys(blobsPerSession));
  const counts = { blobs: 0, bytes: 0, rows: 0 };
  const calls: string[] = [];
  let attempt = 1;
  let finished = false;
  let failDeleteAfter = Infinity;
  const check = (e: ClaimedErasure) => {
    if (e.attempt !== attempt) throw new AppError("ERASURE_CLAIM_LOST");
  };
  const ports: ErasurePorts = {
    claim: async () => [],
    async listSessions(e) {
      check(e);
      calls.push("sessions");
      return [...rows];
    },
    async listBlobs(sid, token, size) {
      calls.push(`list ${sid.slice(0, 2)}`);
      const keys = [...(stored.get(sid)?.keys() ?? [])].sort().filter((k) => k > token);
      const page = keys.slice(0, size);
      return { blobs: page.map((k) => stored.get(sid)!.get(k)!), next: keys.length > size ? page[page.length - 1]! : "" };
    },
    async deleteBlob(ref) {
      if (failDeleteAfter-- <= 0) throw new AppError("UPSTREAM_UNAVAILABLE");
      const m = stored.get(ref.sessionId)!;
      const key = [...m.keys()].find((k) => m.get(k)!.ref.index === ref.index);
      if (!key) return false;
      m.delete(key);
      return true;
    },
    async progress(e, blobs, bytes) {
      check(e);
      counts.blobs += blobs;
      counts.bytes += bytes;
    },
    async deleteSessionRows(e, sid) {
      check(e);
      calls.push(`rows ${sid.slice(0, 2)}`);
      if ((stored.get(sid)?.size ?? 0) > 0) throw new Error("rows deleted before the blobs");
      const had = rows.delete(sid);
      counts.rows += had ? 5 : 0;
      return { audioChunks: had ? 2 : 0, videoFrames: had ? 2 : 0, captureEvents: 0, mediaSessions: had ? 1 : 0 };
    },
    async finish(e) {
      check(e);
      calls.push("finish");
      finished = rows.size === 0;
      return { finished, remaining: rows.size };
    },
    enqueueExpired: async () => [],
  };
  return {
    ports,
    stored,
    rows,
    counts,
    calls,
    get finished() {
      return finished;
    },
    nextClaim() {
      attempt++;
    },
    failDeletesAfter(n: number) {
      failDeleteAfter = n;
    },
  };
}

const erasure = (attempt = 1): ClaimedErasure => ({ erasureId: 1, interviewSessionId: 7, reason: "request", attempt });
const opts = { pageSize: 10, concurrency: 4 };
const never = new AbortController().signal;

describe("eraseOne", () => {
  test("every blob of every session, then that session's rows, then finish; counts match what existed", async () => {
    const w = world({ [S1]: 25, [S2]: 3 });
    const r = await eraseOne(w.ports, erasure(), opts, never);
    expect(r.ok).toBe(true);
    expect([...w.stored.values()].every((m) => m.size === 0)).toBe(true);
    expect(w.rows.size).toBe(0);
    expect(w.finished).toBe(true);
    expect(w.counts.blobs).toBe(28);
    expect(r.stats).toMatchObject({ sessions: 2, blobsDeleted: 28, blobsGone: 0, rowsDeleted: 10 });
    // blobs of a session before its rows; a second listing pass confirms it is empty
    expect(w.calls.indexOf(`rows ${S1.slice(0, 2)}`)).toBeGreaterThan(w.calls.lastIndexOf(`list ${S1.slice(0, 2)}`));
    expect(w.calls.at(-1)).toBe("finish");
  });

  test("killed midway (a failure after some deletes): the next claim resumes, nothing is counted twice", async () => {
    const w = world({ [S1]: 40 });
    w.failDeletesAfter(15);
    const first = await eraseOne(w.ports, erasure(1), opts, never);
    expect(first.ok).toBe(false);
    const left = w.stored.get(S1)!.size;
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(40);
    expect(w.rows.size).toBe(1); // rows stay until the blobs are gone
    w.failDeletesAfter(Infinity);
    w.nextClaim();
    // the old claim is lost: its calls change nothing
    expect((await eraseOne(w.ports, erasure(1), opts, never)).ok).toBe(false);
    const second = await eraseOne(w.ports, erasure(2), opts, never);
    expect(second.ok).toBe(true);
    expect(w.stored.get(S1)!.size).toBe(0);
    expect(w.finished).toBe(true);
    // a failed delete does not lose the page's confirmed ones: every blob counted once
    expect(w.counts.blobs).toBe(40);
    expect(first.stats.blobsDeleted + second.stats.blobsDeleted).toBe(40);
    expect(second.stats.blobsDeleted).toBe(left);
  });

  test("an erasure already finished (resumed after its finish) is done at once", async () => {
    const w = world({});
    const r = await eraseOne(w.ports, erasure(), opts, never);
    expect(r.ok).toBe(true);
    expect(w.calls).toEqual(["sessions", "finish"]);
  });
});

test("mapLimit keeps at most `limit` in flight and keeps the order of results", async () => {
  let inFlight = 0;
  let most = 0;
  const out = await mapLimit([5, 1, 4, 2, 3, 6, 7], 3, async (n) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await Bun.sleep(n);
    inFlight--;
    return n * 2;
  });
  expect(out).toEqual([10, 2, 8, 4, 6, 12, 14]);
  expect(most).toBe(3);
  await expect(mapLimit([1, 2], 2, async (n) => (n === 2 ? Promise.reject(new Error("x")) : n))).rejects.toThrow("x");
});
