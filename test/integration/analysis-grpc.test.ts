/**
 * media.v1.AnalysisService and RecordCaptureEvent: the metadata service as a separate process on
 * its own fresh PostgreSQL database, over real gRPC. The work queue's promises: concurrent claims
 * never share an item, a result is written once by the claim holding it, an expired claim returns
 * the item, claims that keep expiring end in "failed", and capture events are idempotent and fenced.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { AnalysisKind, AnalysisServiceClient, type AnalysisWorkItem, type ClaimAnalysisWorkRequest } from "../../proto/gen/media/v1/analysis";
import { WriteOutcome } from "../../proto/gen/media/v1/common";
import { internalClient } from "../../services/shared/grpc";
import { createTestDatabase, type TestDatabase } from "../support/postgres";
import { audio, call, errorCode, frame, openReq, outcomes, record, type Running, startMetadata } from "../support/metadata-proc";
import { TEST_INTERNAL_TOKEN } from "../support/procs";

let db: TestDatabase;
let m: Running;
let a: AnalysisServiceClient;
let sql: postgres.Sql;

beforeAll(async () => {
  db = await createTestDatabase("candid_analysis");
  m = await startMetadata({ DATABASE_URL: db.url });
  a = internalClient(AnalysisServiceClient, `127.0.0.1:${m.grpcPort}`, TEST_INTERNAL_TOKEN);
  sql = postgres(db.url, { max: 2, onnotice: () => {} });
}, 60_000);

afterAll(async () => {
  a?.close();
  await sql?.end();
  await m?.stop();
  await db?.drop();
});

const claimReq = (worker: string, extra: Partial<ClaimAnalysisWorkRequest> = {}): ClaimAnalysisWorkRequest => ({
  worker,
  kinds: [],
  limit: 10,
  leaseMs: 60_000,
  maxAttempts: 3,
  ...extra,
});
const claim = (worker: string, extra: Partial<ClaimAnalysisWorkRequest> = {}) => call<{ items: AnalysisWorkItem[]; expiredFailed: number }>((cb) => a.claimAnalysisWork(claimReq(worker, extra), cb));
const complete = (worker: string, i: AnalysisWorkItem, json: string, transcription?: string) =>
  call((cb) => a.completeAnalysisWork({ worker, kind: i.kind, rowId: i.rowId, attempt: i.attempt, analysisJson: json, transcription }, cb));
const fail = (worker: string, i: AnalysisWorkItem, permanent = false, retryAfterMs = 0) =>
  call<{ failed: boolean }>((cb) => a.failAnalysisWork({ worker, kind: i.kind, rowId: i.rowId, attempt: i.attempt, reason: "DECODE_FAILED: not opus", permanent, retryAfterMs, maxAttempts: 3 }, cb));

/** A new session with `chunks` audio rows and `frames` frame rows. */
async function session(chunks: number, frames: number): Promise<string> {
  const sid = crypto.randomUUID();
  await call((cb) => m.client.openSession(openReq(sid), cb));
  const items = [...Array(chunks).keys()].map((i) => audio(sid, i)).concat([...Array(frames).keys()].map((i) => frame(sid, i, Math.floor(i / 5))));
  expect(outcomes(await record(m.client, items)).every((o) => o === "CREATED")).toBe(true);
  return sid;
}

/** Claims until nothing is left for `worker`, completing nothing; returns what it got. */
async function drainClaims(worker: string, sid: string): Promise<AnalysisWorkItem[]> {
  const got: AnalysisWorkItem[] = [];
  for (;;) {
    const r = await claim(worker, { limit: 3 });
    const mine = r.items.filter((i) => i.sessionId === sid);
    got.push(...mine);
    if (!r.items.length) return got;
  }
}

describe("analysis work queue", () => {
  test("claims carry the rows' fields; concurrent workers never get the same item", async () => {
    const sid = await session(12, 20);
    const [x, y, z] = await Promise.all([drainClaims("w-x", sid), drainClaims("w-y", sid), drainClaims("w-z", sid)]);
    const all = [...x, ...y, ...z];
    const keys = all.map((i) => `${i.kind}/${i.index}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(all.filter((i) => i.kind === AnalysisKind.ANALYSIS_KIND_AUDIO).length).toBe(12);
    expect(all.filter((i) => i.kind === AnalysisKind.ANALYSIS_KIND_FRAME).length).toBe(20);
    const c3 = all.find((i) => i.kind === AnalysisKind.ANALYSIS_KIND_AUDIO && i.index === 3)!;
    expect(c3).toMatchObject({ sessionId: sid, attempt: 1, mediaType: "audio/webm", startMs: 1_700_000_030_000, endMs: 1_700_000_040_000, durationMs: 10_000 });
    const f7 = all.find((i) => i.kind === AnalysisKind.ANALYSIS_KIND_FRAME && i.index === 7)!;
    expect(f7).toMatchObject({ mediaType: "image/jpeg", chunkIndex: 1, offsetMs: 4000, timestampMs: 1_700_000_014_000 });
  });

  test("a result is written once, by the claim holding it; a lost claim changes nothing", async () => {
    await sql`update audio_chunks set processed = true`;
    await sql`update video_frames set processed = true`;
    const sid = await session(1, 0);
    const [item] = (await claim("w-1", { kinds: [AnalysisKind.ANALYSIS_KIND_AUDIO], leaseMs: 1000 })).items;
    expect(item?.sessionId).toBe(sid);
    await Bun.sleep(1100); // the claim expires; another worker takes the item
    const [again] = (await claim("w-2", { kinds: [AnalysisKind.ANALYSIS_KIND_AUDIO] })).items;
    expect(again).toMatchObject({ rowId: item!.rowId, attempt: 2 });
    expect(await errorCode(complete("w-1", item!, '{"speech_ratio":0.1}', "late"))).toBe("ANALYSIS_CLAIM_LOST");
    await complete("w-2", again!, '{"speech_ratio":0.5}', "hello there");
    expect(await errorCode(complete("w-2", again!, '{"speech_ratio":0.9}', "again"))).toBe("ANALYSIS_CLAIM_LOST");
    const [row] = await sql`select processed, transcription, analysis, analysis_claimed_by from audio_chunks where id = ${again!.rowId}`;
    expect(row).toMatchObject({ processed: true, transcription: "hello there", analysis: { speech_ratio: 0.5 }, analysis_claimed_by: null });
    expect((await claim("w-3")).items).toEqual([]);
  });

  test("a failure is retried after its delay; the last allowed attempt or a permanent one fails for good", async () => {
    const sid = await session(2, 0);
    const items = (await claim("w-f")).items.filter((i) => i.sessionId === sid);
    expect(items.length).toBe(2);
    expect(await fail("w-f", items[0]!, true)).toEqual({ failed: true });
    expect(await fail("w-f", items[1]!, false, 300)).toEqual({ failed: false });
    expect((await claim("w-f")).items).toEqual([]); // waiting out its delay
    await Bun.sleep(350);
    const [second] = (await claim("w-f")).items;
    expect(second).toMatchObject({ rowId: items[1]!.rowId, attempt: 2 });
    expect(await fail("w-f", second!, false, 0)).toEqual({ failed: false });
    const [third] = (await claim("w-f")).items;
    expect(third?.attempt).toBe(3);
    expect(await fail("w-f", third!, false, 0)).toEqual({ failed: true }); // max_attempts 3
    const rows = await sql`select analysis_failed, analysis_error from audio_chunks a join media_sessions m on m.id = a.media_session_id where m.session_id = ${sid} order by chunk_index`;
    expect(rows.map((r) => r.analysis_failed)).toEqual([true, true]);
    expect(rows[0]!.analysis_error).toBe("DECODE_FAILED: not opus");
  });

  test("an item whose claims keep expiring (its worker dies on it) ends failed, not handed out forever", async () => {
    const sid = await session(1, 0);
    for (let attempt = 1; attempt <= 2; attempt++) {
      const [i] = (await claim("w-dies", { leaseMs: 1000, maxAttempts: 2 })).items;
      expect(i).toMatchObject({ sessionId: sid, attempt });
      await Bun.sleep(1050);
    }
    const r = await claim("w-next", { maxAttempts: 2 });
    expect(r).toEqual({ items: [], expiredFailed: 1 });
    const [row] = await sql`select analysis_failed, analysis_error from audio_chunks a join media_sessions m on m.id = a.media_session_id where m.session_id = ${sid}`;
    expect(row).toEqual({ analysis_failed: true, analysis_error: "claim expired 2 times without a result" });
  });

  test("bad requests are refused with their field and change nothing", async () => {
    await session(1, 0);
    expect(await errorCode(claim("", {}))).toBe("INVALID_MESSAGE");
    expect(await errorCode(claim("w", { limit: 0 }))).toBe("INVALID_MESSAGE");
    expect(await errorCode(claim("w", { leaseMs: 10 }))).toBe("INVALID_MESSAGE");
    expect(await errorCode(claim("w", { kinds: [AnalysisKind.ANALYSIS_KIND_UNSPECIFIED] }))).toBe("INVALID_MESSAGE");
    const [item] = (await claim("w-bad")).items;
    expect(await errorCode(complete("w-bad", item!, "[1,2]"))).toBe("INVALID_MESSAGE");
    expect(await errorCode(complete("w-bad", item!, "{not json"))).toBe("INVALID_MESSAGE");
    expect(await errorCode(complete("w-bad", item!, JSON.stringify({ x: "y".repeat(300_000) })))).toBe("INVALID_MESSAGE");
    const [row] = await sql`select processed, analysis_claimed_by from audio_chunks where id = ${item!.rowId}`;
    expect(row).toEqual({ processed: false, analysis_claimed_by: "w-bad" });
    await complete("w-bad", item!, "{}");
  });
});

describe("session analysis and capture events", () => {
  test("capture events: created, identical, conflict; fenced on the epoch; unknown session", async () => {
    const sid = await session(0, 0);
    const ev = { sessionId: sid, eventIndex: 0, kind: "silence", phase: "began", atMs: 1_700_000_020_000, detailJson: '{"seconds":20}', ownerEpoch: 1 };
    const rec = (e: typeof ev) => call<{ outcome: WriteOutcome }>((cb) => m.client.recordCaptureEvent(e, cb));
    expect((await rec(ev)).outcome).toBe(WriteOutcome.WRITE_OUTCOME_CREATED);
    expect((await rec(ev)).outcome).toBe(WriteOutcome.WRITE_OUTCOME_IDENTICAL);
    expect((await rec({ ...ev, phase: "ended" })).outcome).toBe(WriteOutcome.WRITE_OUTCOME_CONFLICT);
    expect(await errorCode(rec({ ...ev, eventIndex: 1, kind: "bored" }))).toBe("INVALID_MESSAGE");
    expect(await errorCode(rec({ ...ev, eventIndex: 1, detailJson: "[]" }))).toBe("INVALID_MESSAGE");
    expect(await errorCode(rec({ ...ev, sessionId: crypto.randomUUID() }))).toBe("SESSION_NOT_FOUND");
    await call((cb) => m.client.openSession(openReq(sid, { ownerInstance: "gw-2" }), cb)); // epoch 2
    expect(await errorCode(rec({ ...ev, eventIndex: 1 }))).toBe("SESSION_TAKEN_OVER");
    expect((await rec({ ...ev, eventIndex: 1, kind: "tab_hidden", detailJson: "", ownerEpoch: 2 })).outcome).toBe(WriteOutcome.WRITE_OUTCOME_CREATED);
    const rows = await sql`select event_index, kind, phase, detail from capture_events c join media_sessions m on m.id = c.media_session_id where m.session_id = ${sid} order by event_index`;
    expect(rows.map((r) => [Number(r.event_index), r.kind, r.phase, r.detail])).toEqual([
      [0, "silence", "began", { seconds: 20 }],
      [1, "tab_hidden", "began", null],
    ]);
  });

  test("GetSessionAnalysis pages rows and reports timing, frame counts and events", async () => {
    const sid = await session(3, 4);
    const get = (chunksAfter: number, framesAfter: number, limit: number) =>
      call<import("../../proto/gen/media/v1/analysis").GetSessionAnalysisResponse>((cb) => a.getSessionAnalysis({ sessionId: sid, chunksAfter, framesAfter, limit }, cb));
    // Analyse chunk 1 and frames 0 (a face) and 1 (black, no face).
    for (;;) {
      const { items } = await claim("w-page", { limit: 50 });
      if (!items.length) break;
      for (const i of items) {
        if (i.sessionId !== sid) await complete("w-page", i, "{}");
        else if (i.kind === AnalysisKind.ANALYSIS_KIND_AUDIO && i.index === 1) await complete("w-page", i, JSON.stringify({ speech_ratio: 0.4, speech_segments: [[1000, 5000]] }), "hello");
        else if (i.kind === AnalysisKind.ANALYSIS_KIND_FRAME && i.index === 0) await complete("w-page", i, JSON.stringify({ faces: [{ score: 0.9 }], quality: { black: false, frozen: null } }));
        else if (i.kind === AnalysisKind.ANALYSIS_KIND_FRAME && i.index === 1) await complete("w-page", i, JSON.stringify({ faces: [], quality: { black: true, frozen: false } }));
        else await fail("w-page", i, false, 60_000);
      }
    }
    const p1 = await get(-1, -1, 2);
    expect(p1.chunks.map((c) => [c.chunkIndex, c.processed, c.transcription ?? null])).toEqual([
      [0, false, null],
      [1, true, "hello"],
    ]);
    expect(JSON.parse(p1.chunks[1]!.analysisJson)).toEqual({ speech_ratio: 0.4, speech_segments: [[1000, 5000]] });
    expect([p1.moreChunks, p1.moreFrames]).toEqual([true, true]);
    expect(p1.timing.map((t) => [t.chunkIndex, t.startMs, t.speechSegmentsJson])).toEqual([
      [0, 1_700_000_000_000, ""],
      [1, 1_700_000_010_000, "[[1000, 5000]]"],
      [2, 1_700_000_020_000, ""],
    ]);
    expect(p1.frameCounts).toEqual({ total: 4, processed: 2, failed: 0, withoutFace: 1, black: 1, frozen: 0 });
    expect(p1.timelineStartMs).toBe(1_700_000_000_000);
    const p2 = await get(1, 1, 2);
    expect(p2.chunks.map((c) => c.chunkIndex)).toEqual([2]);
    expect(p2.frames.map((f) => f.frameIndex)).toEqual([2, 3]);
    expect([p2.moreChunks, p2.moreFrames]).toEqual([false, false]);
    expect(await errorCode(call((cb) => a.getSessionAnalysis({ sessionId: crypto.randomUUID(), chunksAfter: -1, framesAfter: -1, limit: 10 }, cb)))).toBe("SESSION_NOT_FOUND");
    expect(await errorCode(call((cb) => a.getSessionAnalysis({ sessionId: sid, chunksAfter: -2, framesAfter: -1, limit: 10 }, cb)))).toBe("INVALID_MESSAGE");
  });
});
