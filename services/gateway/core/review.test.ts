import { beforeEach, describe, expect, test } from "bun:test";
import type { BlobRef, WriteOutcome } from "../../shared/blob";
import { AppError } from "../../shared/errors";
import type { SessionItemsPage, StoredChunk, StoredFrame } from "../../shared/review";
import { sha256Hex } from "../../shared/sha256";
import { buildManifest, chainIntact, parseManifest } from "./manifest";
import type { SessionSummary } from "./ports";
import { mapLimit, Review, type ReviewPorts } from "./review";

const SID = "0f8fad5b-d9cb-469f-a165-70867728950e";
const T0 = Date.parse("2026-12-03T10:00:00.000Z");
const enc = (s: string) => new TextEncoder().encode(s);
const key = (r: BlobRef) => `${r.sessionId}/${r.kind}/${r.index}`;

/**
 * The two services behind ReviewPorts, in memory, with their semantics: storage is create-only
 * (the same bytes again: identical; others: conflict, the stored ones kept); metadata's seal
 * keeps the first hash (the same again is a no-op, another SESSION_ALREADY_SEALED); session items
 * come in pages of at most `limit` per kind, after the given indices.
 */
class Memory implements ReviewPorts {
  readonly blobs = new Map<string, Uint8Array>();
  readonly chunks = new Map<string, StoredChunk[]>();
  readonly frames = new Map<string, StoredFrame[]>();
  readonly seals = new Map<string, { sha: string; atMs: number }>();
  readonly sessions = new Map<string, SessionSummary>();
  readonly puts: WriteOutcome[] = [];
  readonly itemCalls: Array<[number, number, number]> = [];
  sealCalls = 0;

  async listInterviews() {
    return { interviews: [], more: false };
  }
  async getInterview(): Promise<never> {
    throw new AppError("INTERVIEW_SESSION_NOT_FOUND");
  }
  async sessionItems(sessionId: string, chunksAfter: number, framesAfter: number, limit: number): Promise<SessionItemsPage> {
    this.itemCalls.push([chunksAfter, framesAfter, limit]);
    if (!this.sessions.has(sessionId)) throw new AppError("SESSION_NOT_FOUND");
    const c = (this.chunks.get(sessionId) ?? []).filter((x) => x.chunkIndex > chunksAfter).sort((a, b) => a.chunkIndex - b.chunkIndex);
    const f = (this.frames.get(sessionId) ?? []).filter((x) => x.frameIndex > framesAfter).sort((a, b) => a.frameIndex - b.frameIndex);
    return { chunks: c.slice(0, limit), frames: f.slice(0, limit), moreChunks: c.length > limit, moreFrames: f.length > limit, manifestSha256: this.seals.get(sessionId)?.sha ?? "" };
  }
  async seal(sessionId: string, sha: string) {
    this.sealCalls++;
    const had = this.seals.get(sessionId);
    if (had && had.sha !== sha) throw new AppError("SESSION_ALREADY_SEALED");
    if (!had) this.seals.set(sessionId, { sha, atMs: T0 + 60_000 + this.seals.size });
    return { sealedAtMs: this.seals.get(sessionId)!.atMs };
  }
  async status(sessionId: string) {
    const s = this.sessions.get(sessionId);
    if (!s) throw new AppError("SESSION_NOT_FOUND");
    return s;
  }
  async getBlob(ref: BlobRef) {
    const b = this.blobs.get(key(ref));
    if (!b) throw new AppError("NOT_FOUND", "no such blob");
    return b;
  }
  async putBlob(ref: BlobRef, data: Uint8Array, sha: string): Promise<WriteOutcome> {
    const had = this.blobs.get(key(ref));
    const outcome: WriteOutcome = !had ? "created" : sha256Hex(had) === sha ? "identical" : "conflict";
    if (!had) this.blobs.set(key(ref), data.slice());
    this.puts.push(outcome);
    return outcome;
  }
  sha256Hex(data: Uint8Array | string) {
    return sha256Hex(data);
  }

  /** A stored chunk: its blob and its row, as the gateway's record path leaves them. */
  addChunk(sid: string, i: number) {
    const data = enc(`chunk ${i} of ${sid}`);
    this.blobs.set(key({ sessionId: sid, kind: "audio", index: i, mediaType: "audio/webm" }), data);
    const rows = this.chunks.get(sid) ?? [];
    rows.push({ chunkIndex: i, mediaType: "audio/webm", filePath: `${sid}/audio/chunk_${i}.webm`, fileSize: data.byteLength, sha256Hex: sha256Hex(data), startMs: T0 + i * 10_000, endMs: T0 + i * 10_000 + 10_120, durationMs: 10_120 });
    this.chunks.set(sid, rows);
  }
  addFrame(sid: string, i: number) {
    const data = enc(`frame ${i} of ${sid}`);
    this.blobs.set(key({ sessionId: sid, kind: "frame", index: i, mediaType: "image/jpeg" }), data);
    const rows = this.frames.get(sid) ?? [];
    rows.push({ frameIndex: i, chunkIndex: Math.floor(i / 5), mediaType: "image/jpeg", filePath: `${sid}/video/frame_${i}.jpg`, fileSize: data.byteLength, sha256Hex: sha256Hex(data), timestampMs: T0 + i * 2000, offsetMs: (i * 2000) % 10_000 });
    this.frames.set(sid, rows);
  }
}

let mem: Memory;
let review: Review;
const session = (status: SessionSummary["status"], over: Partial<SessionSummary> = {}): SessionSummary => ({
  sessionId: SID, status, totalChunks: 3, totalFrames: 10, startedAtMs: T0, lastActivityMs: T0 + 30_000, interviewSessionId: 4, userId: 7, isConnected: false, ...over,
});
const manifestKey = `${SID}/manifest/0`;
const audioKey = (i: number) => `${SID}/audio/${i}`;
const frameKey = (i: number) => `${SID}/frame/${i}`;

beforeEach(() => {
  mem = new Memory();
  review = new Review(mem);
  mem.sessions.set(SID, session("completed"));
  for (let i = 0; i < 3; i++) mem.addChunk(SID, i);
  for (let i = 0; i < 10; i++) mem.addFrame(SID, i);
});

describe("seal", () => {
  test("stores the manifest beside the media and records its hash; the same bytes again are IDENTICAL and leave the one seal", async () => {
    const s = mem.sessions.get(SID)!;
    const a = await review.seal(s, { chunks: 3, frames: 10 });
    expect(mem.puts).toEqual(["created"]);
    expect(sha256Hex(mem.blobs.get(manifestKey)!)).toBe(a.sha256);
    expect(mem.seals.get(SID)!.sha).toBe(a.sha256);
    expect(a.manifest).toMatchObject({ session_id: SID, interview_session_id: 4, user_id: 7, announced: { chunks: 3, frames: 10 }, missing_chunks: [], missing_frames: [] });
    expect(a.manifest.chunks.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(a.manifest.frames).toHaveLength(10);
    const sealedAt = mem.seals.get(SID)!.atMs;

    const b = await review.seal(s, { chunks: 3, frames: 10 });
    expect(mem.puts).toEqual(["created", "identical"]);
    expect(Buffer.from(b.bytes).equals(Buffer.from(a.bytes))).toBe(true);
    expect(b.sha256).toBe(a.sha256);
    expect(mem.seals.size).toBe(1);
    expect(mem.seals.get(SID)).toEqual({ sha: a.sha256, atMs: sealedAt });
    expect(await review.sealOf(SID)).toBe(a.sha256);
  });

  test("a manifest with other bytes already stored (sealed with the announced totals, then again from what is stored): the stored one and its seal stay", async () => {
    const s = mem.sessions.get(SID)!;
    const first = await review.seal(s, { chunks: 4, frames: 10 }); // chunk 3 never arrived
    expect(first.manifest.missing_chunks).toEqual([3]);
    const later = await review.seal(s, null); // other bytes: announced null, no chunk 3 missing
    expect(later.sha256).not.toBe(first.sha256);
    expect(mem.puts).toEqual(["created", "conflict"]);
    expect(mem.sealCalls).toBe(1); // a conflict is not sealed: metadata would refuse another hash
    expect(mem.seals.get(SID)!.sha).toBe(first.sha256);
    expect(sha256Hex(mem.blobs.get(manifestKey)!)).toBe(first.sha256);
    expect((await review.verify(s)).missing_chunks).toEqual([3]);
  });
});

describe("manifest", () => {
  test("the seal at session_complete stored the manifest but metadata's seal call failed: the first read seals that stored manifest", async () => {
    const s = mem.sessions.get(SID)!;
    const seal = mem.seal.bind(mem);
    mem.seal = async () => Promise.reject(new AppError("UPSTREAM_UNAVAILABLE"));
    let code = "";
    try {
      await review.seal(s, { chunks: 3, frames: 10 });
    } catch (e) {
      code = (e as AppError).code;
    }
    expect(code).toBe("UPSTREAM_UNAVAILABLE");
    const stored = mem.blobs.get(manifestKey)!;
    expect(mem.seals.size).toBe(0);
    mem.seal = seal;
    const m = await review.manifest(s);
    expect(m).toMatchObject({ intact: true, sealed: true });
    expect(mem.seals.get(SID)?.sha).toBe(sha256Hex(stored));
    expect(Buffer.from(m.bytes).equals(Buffer.from(stored))).toBe(true);
    expect(parseManifest(m.bytes)!.announced).toEqual({ chunks: 3, frames: 10 });
    expect((await review.verify(s)).ok).toBe(true);
  });

  test("a stored manifest that lists other items than the rows is never sealed by a later read", async () => {
    const s = mem.sessions.get(SID)!;
    const forged = buildManifest({ sessionId: SID, interviewSessionId: 4, userId: 7, announced: { chunks: 2, frames: 10 }, chunks: mem.chunks.get(SID)!.slice(0, 2), frames: mem.frames.get(SID)! }, sha256Hex);
    mem.blobs.set(manifestKey, forged.bytes);
    await review.manifest(s);
    expect(mem.puts).toEqual(["conflict"]);
    expect(mem.seals.size).toBe(0);
    expect(sha256Hex(mem.blobs.get(manifestKey)!)).toBe(sha256Hex(forged.bytes));
  });

  test("a completed session that was never sealed (the seal at session_complete failed) is sealed on first read, from what is stored", async () => {
    const s = mem.sessions.get(SID)!;
    expect(mem.seals.size).toBe(0);
    const m = await review.manifest(s);
    expect(m).toMatchObject({ intact: true, sealed: true });
    expect(mem.puts).toEqual(["created"]);
    expect(mem.seals.get(SID)!.sha).toBe(sha256Hex(m.bytes));
    const parsed = parseManifest(m.bytes)!;
    expect(parsed.announced).toBeNull();
    expect(chainIntact(parsed, sha256Hex)).toBe(true);
    // the second read reads the stored one
    const again = await review.manifest(s);
    expect(Buffer.from(again.bytes).equals(Buffer.from(m.bytes))).toBe(true);
    expect(mem.puts).toEqual(["created"]);
  });

  test("an open (or abandoned) session has none: SESSION_NOT_SEALED, and nothing is written", async () => {
    for (const status of ["active", "abandoned"] as const) {
      const s = session(status);
      mem.sessions.set(SID, s);
      let code = "";
      try {
        await review.manifest(s);
      } catch (e) {
        code = (e as AppError).code;
      }
      expect(code, status).toBe("SESSION_NOT_SEALED");
    }
    expect(mem.puts).toEqual([]);
    expect(mem.sealCalls).toBe(0);
    expect(mem.blobs.has(manifestKey)).toBe(false);
  });

  test("a sealed manifest changed or gone in storage is not intact", async () => {
    const s = mem.sessions.get(SID)!;
    await review.seal(s, { chunks: 3, frames: 10 });
    const good = mem.blobs.get(manifestKey)!;
    mem.blobs.set(manifestKey, enc(new TextDecoder().decode(good).replace('"user_id": 7', '"user_id": 8')));
    expect(await review.manifest(s)).toMatchObject({ intact: false, sealed: true });
    mem.blobs.delete(manifestKey);
    const gone = await review.manifest(s);
    expect(gone).toMatchObject({ intact: false, sealed: true });
    expect(gone.bytes.byteLength).toBe(0);
    expect(mem.puts).toEqual(["created"]); // never re-sealed over a changed or vanished one
  });
});

describe("verify", () => {
  const sealed = async () => {
    const s = mem.sessions.get(SID)!;
    await review.seal(s, { chunks: 3, frames: 10 });
    return s;
  };

  test("an intact session: ok, every blob read and matching", async () => {
    const r = await review.verify(await sealed());
    expect(r).toEqual({ ok: true, sealed: true, manifest_intact: true, chunks: 3, frames: 10, missing_chunks: [], missing_frames: [], mismatched: [] });
  });

  test("a blob whose bytes changed is mismatched", async () => {
    const s = await sealed();
    const b = mem.blobs.get(audioKey(1))!;
    b[0] = b[0]! ^ 1; // one bit, same size
    mem.blobs.set(frameKey(4), enc("another picture, another size"));
    const r = await review.verify(s);
    expect(r).toMatchObject({ ok: false, manifest_intact: true, missing_chunks: [], missing_frames: [] });
    expect(r.mismatched).toEqual([{ kind: "audio", index: 1 }, { kind: "frame", index: 4 }]);
  });

  test("a blob that vanished is missing", async () => {
    const s = await sealed();
    mem.blobs.delete(frameKey(0));
    mem.blobs.delete(audioKey(2));
    const r = await review.verify(s);
    expect(r).toMatchObject({ ok: false, manifest_intact: true, missing_chunks: [2], missing_frames: [0], mismatched: [] });
  });

  test("a manifest rewritten with a valid chain but other bytes no longer matches its seal: not intact, and the blobs are compared with the rows", async () => {
    const s = await sealed();
    // a forger drops chunk 1 and its blob, and writes a self-consistent manifest without it
    const rows = mem.chunks.get(SID)!;
    const forged = buildManifest({ sessionId: SID, interviewSessionId: 4, userId: 7, announced: { chunks: 2, frames: 10 }, chunks: rows.filter((c) => c.chunkIndex !== 1), frames: mem.frames.get(SID)! }, sha256Hex);
    expect(chainIntact(forged.manifest, sha256Hex)).toBe(true);
    mem.blobs.set(manifestKey, forged.bytes);
    mem.blobs.delete(audioKey(1));
    const r = await review.verify(s);
    expect(r).toMatchObject({ ok: false, sealed: true, manifest_intact: false, chunks: 3, missing_chunks: [1] });
  });

  test("a manifest edited in place (one offset) is not intact either, and nothing is reported missing or changed that is not", async () => {
    const s = await sealed();
    const m = parseManifest(mem.blobs.get(manifestKey)!)!;
    m.frames[3]!.offset_ms += 1;
    mem.blobs.set(manifestKey, enc(JSON.stringify(m, null, 1)));
    const r = await review.verify(s);
    expect(r).toMatchObject({ ok: false, manifest_intact: false, missing_chunks: [], missing_frames: [], mismatched: [] });
  });

  test("before the seal (an open session): compared with the rows, not sealed", async () => {
    const s = session("active");
    mem.sessions.set(SID, s);
    expect(await review.verify(s)).toEqual({ ok: true, sealed: false, manifest_intact: true, chunks: 3, frames: 10, missing_chunks: [], missing_frames: [], mismatched: [] });
    mem.blobs.delete(audioKey(0));
    expect((await review.verify(s)).missing_chunks).toEqual([0]);
    expect(mem.puts).toEqual([]);
  });

  test("a storage error other than NOT_FOUND fails verify (no false 'missing')", async () => {
    const s = await sealed();
    const getBlob = mem.getBlob.bind(mem);
    mem.getBlob = async (ref) => (ref.kind === "frame" && ref.index === 2 ? Promise.reject(new AppError("UPSTREAM_UNAVAILABLE")) : getBlob(ref));
    let code = "";
    try {
      await review.verify(s);
    } catch (e) {
      code = (e as AppError).code;
    }
    expect(code).toBe("UPSTREAM_UNAVAILABLE");
  });
});

describe("items", () => {
  test("pages through more than 1,000 rows per kind, in index order, each page after the last one's index", async () => {
    const BIG = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";
    mem.sessions.set(BIG, session("completed", { sessionId: BIG, totalChunks: 1200, totalFrames: 2500 }));
    // stored out of order, and not contiguous: the pages follow indices, not positions
    for (let i = 1199; i >= 0; i--) mem.addChunk(BIG, i);
    for (let i = 0; i < 2501; i++) if (i !== 1500) mem.addFrame(BIG, i);
    mem.itemCalls.length = 0;
    const all = await review.items(BIG);
    expect(all.chunks.map((c) => c.chunkIndex)).toEqual(Array.from({ length: 1200 }, (_, i) => i));
    expect(all.frames.map((f) => f.frameIndex)).toEqual(Array.from({ length: 2501 }, (_, i) => i).filter((i) => i !== 1500));
    expect(mem.itemCalls).toEqual([[-1, -1, 1000], [999, 999, 1000], [1199, 2000, 1000]]);
    expect(all.manifestSha256).toBe("");
    // and the seal lists every one of them
    const sealed = await review.seal(mem.sessions.get(BIG)!, { chunks: 1200, frames: 2501 });
    expect(sealed.manifest.chunks).toHaveLength(1200);
    expect(sealed.manifest.frames).toHaveLength(2500);
    expect(sealed.manifest.missing_frames).toEqual([1500]);
    expect(await review.items(BIG).then((x) => x.manifestSha256)).toBe(sealed.sha256);
  });
});

describe("mapLimit", () => {
  test("keeps the order and never runs more than n at once", async () => {
    let running = 0;
    let most = 0;
    const out = await mapLimit(Array.from({ length: 40 }, (_, i) => i), 8, async (i) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, (i * 7) % 5));
      running--;
      return i * 2;
    });
    expect(out).toEqual(Array.from({ length: 40 }, (_, i) => i * 2));
    expect(most).toBe(8);
    expect(await mapLimit([], 8, async () => 1)).toEqual([]);
  });
});
