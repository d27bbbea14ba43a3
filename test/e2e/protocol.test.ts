/**
 * End-to-end protocol test: a WebSocket client speaking exactly the specification's protocol
 * against the real gateway, storage (local disk) and metadata (PostgreSQL) processes over gRPC,
 * with an upload token minted through the operator API in every session_init (test/e2e/auth.test.ts
 * tries the refusals).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { encodeBinaryFrame } from "../../proto/wire";
import { type Stack, startStack } from "../support/stack";
import { fakeJpeg, fakeWebm, TestClient } from "../support/ws-client";

let stack: Stack;
let sql: postgres.Sql;
let interviewId: number;
let token: string;

const iso = (ms: number) => new Date(ms).toISOString();
const T0 = Date.parse("2025-12-16T10:30:00Z");

const init = (sid: string, extra: object = {}) => ({ type: "session_init", session_id: sid, interview_session_id: interviewId, user_id: 1, timestamp: iso(T0), token, ...extra });
const audioMeta = (sid: string, i: number, size: number) => ({
  type: "audio_metadata", session_id: sid, chunk_index: i, start_timestamp: iso(T0 + i * 10_000), end_timestamp: iso(T0 + (i + 1) * 10_000), duration_ms: 10_000, size,
});
const frameMeta = (sid: string, i: number, size: number) => ({
  type: "frame_metadata", session_id: sid, frame_index: i, chunk_index: Math.floor(i / 5), timestamp: iso(T0 + i * 2000), offset_ms: (i % 5) * 2000, size,
});

async function open(sid: string): Promise<TestClient> {
  const c = await TestClient.connect(stack.wsUrl);
  c.send(init(sid));
  // The seed's fields and values; a resumed session's ack adds `stored` (tested below).
  expect(await c.reply()).toMatchObject({ type: "session_init_ack", session_id: sid, status: "ready" });
  return c;
}

async function sendAudio(c: TestClient, sid: string, i: number, blob: Uint8Array) {
  const n = c.messages.length;
  c.send(audioMeta(sid, i, blob.length));
  c.sendBlob(sid, "audio", i, blob);
  return c.next((m) => (m.type === "audio_ack" && m.chunk_index === i) || (m.type === "error" && m.chunk_index === i), 10_000, n);
}

async function sendFrame(c: TestClient, sid: string, i: number, blob: Uint8Array) {
  const n = c.messages.length;
  c.send(frameMeta(sid, i, blob.length));
  c.sendBlob(sid, "frame", i, blob);
  return c.next((m) => (m.type === "frame_ack" && m.frame_index === i) || (m.type === "error" && m.frame_index === i), 10_000, n);
}

const status = (sid: string) => stack.api.status(sid);

const files = (sid: string, sub: "audio" | "frames") => {
  const dir = join(stack.mediaDir, sid, sub);
  return existsSync(dir) ? readdirSync(dir).filter((f) => !f.startsWith(".")).sort() : [];
};

const rows = async (sid: string) => {
  const [r] = await sql`
    select (select count(*) from audio_chunks a join media_sessions m on m.id = a.media_session_id where m.session_id = ${sid})::int as chunks,
           (select count(*) from video_frames f join media_sessions m on m.id = f.media_session_id where m.session_id = ${sid})::int as frames`;
  return r as { chunks: number; frames: number };
};

beforeAll(async () => {
  stack = await startStack();
  sql = postgres(stack.db.url, { max: 2, onnotice: () => {} });
  interviewId = await stack.api.createInterview("protocol test");
  token = await stack.api.mintToken(interviewId, 1);
}, 120_000);

afterAll(async () => {
  await sql?.end({ timeout: 5 });
  await stack?.stop();
});

describe("a whole session", () => {
  test("init, out-of-order chunks, frames, status, complete: files and rows match", async () => {
    const sid = crypto.randomUUID();
    const c = await open(sid);
    const chunks = [0, 1, 2].map((i) => fakeWebm(50_000 + i, i));
    const frames = [0, 1, 2, 3, 4, 5].map((i) => fakeJpeg(9_000 + i, i));
    // frames arrive before the chunk they belong to; chunks out of order
    for (const i of [0, 1]) expect(await sendFrame(c, sid, i, frames[i]!)).toEqual({ type: "frame_ack", frame_index: i });
    for (const i of [2, 0, 1]) expect(await sendAudio(c, sid, i, chunks[i]!)).toEqual({ type: "audio_ack", chunk_index: i });
    for (const i of [2, 3, 4, 5]) expect(await sendFrame(c, sid, i, frames[i]!)).toEqual({ type: "frame_ack", frame_index: i });

    // the specification's layout, identical bytes
    expect(files(sid, "audio")).toEqual(["chunk_0.webm", "chunk_1.webm", "chunk_2.webm"]);
    expect(files(sid, "frames")).toEqual([0, 1, 2, 3, 4, 5].map((i) => `frame_${i}.jpg`));
    for (const i of [0, 1, 2]) expect(new Uint8Array(readFileSync(join(stack.mediaDir, sid, "audio", `chunk_${i}.webm`)))).toEqual(chunks[i]!);
    for (const i of [0, 5]) expect(new Uint8Array(readFileSync(join(stack.mediaDir, sid, "frames", `frame_${i}.jpg`)))).toEqual(frames[i]!);

    // rows: sizes, mime types, sha256, frame -> chunk links (also for frames that came first)
    const audio = await sql`select a.chunk_index, a.file_size, a.mime_type, a.file_path, a.duration_ms, a.sha256 from audio_chunks a join media_sessions m on m.id = a.media_session_id where m.session_id = ${sid} order by chunk_index`;
    expect(audio.map((r) => [Number(r.chunk_index), Number(r.file_size), r.mime_type, Number(r.duration_ms)])).toEqual([
      [0, 50_000, "audio/webm", 10_000], [1, 50_001, "audio/webm", 10_000], [2, 50_002, "audio/webm", 10_000],
    ]);
    expect(audio[0]!.file_path).toContain(`${sid}/audio/chunk_0.webm`);
    expect(audio[0]!.sha256).toBe(new Bun.CryptoHasher("sha256").update(chunks[0]!).digest("hex"));
    const linked = await sql`select f.frame_index, a.chunk_index from video_frames f join media_sessions m on m.id = f.media_session_id left join audio_chunks a on a.id = f.audio_chunk_id where m.session_id = ${sid} order by f.frame_index`;
    expect(linked.map((r) => [Number(r.frame_index), Number(r.chunk_index)])).toEqual([[0, 0], [1, 0], [2, 0], [3, 0], [4, 0], [5, 1]]);

    const s1 = await status(sid);
    expect(s1.code).toBe(200);
    expect(Object.keys(s1.body).sort()).toEqual(["is_connected", "last_activity", "session_id", "started_at", "status", "total_chunks", "total_frames"]);
    expect(s1.body).toMatchObject({ session_id: sid, status: "active", total_chunks: 3, total_frames: 6, is_connected: true });

    c.send({ type: "session_complete", session_id: sid, timestamp: iso(T0 + 30_000), total_chunks: 4, total_frames: 6 });
    expect(await c.reply()).toEqual({
      type: "session_complete_ack", session_id: sid, status: "completed", total_chunks: 3, total_frames: 6,
      missing_chunks: [3], missing_frames: [], missing_chunks_count: 1, missing_frames_count: 0,
    });
    c.close();
    await c.waitClose();
    await Bun.sleep(50);
    expect((await status(sid)).body).toMatchObject({ status: "completed", total_chunks: 3, total_frames: 6, is_connected: false });
    // a completed session takes no more media
    const d = await TestClient.connect(stack.wsUrl);
    d.send(init(sid));
    expect(await d.reply()).toMatchObject({ type: "error", code: "SESSION_COMPLETED" });
    d.close();
  });

  test("reconnect continues the session; counts carry on", async () => {
    const sid = crypto.randomUUID();
    const a = await open(sid);
    expect(await sendAudio(a, sid, 0, fakeWebm(1000, 1))).toMatchObject({ type: "audio_ack" });
    a.close();
    await a.waitClose();
    const b = await open(sid);
    expect(await sendAudio(b, sid, 2, fakeWebm(1000, 3))).toMatchObject({ type: "audio_ack" });
    expect(await sendAudio(b, sid, 1, fakeWebm(1000, 2))).toMatchObject({ type: "audio_ack" });
    expect((await status(sid)).body).toMatchObject({ total_chunks: 3, is_connected: true });
    // a third connection takes the session over from the second
    const c = await open(sid);
    expect(await b.waitClose()).toEqual({ code: 4409, reason: "SESSION_TAKEN_OVER" });
    expect(await sendFrame(c, sid, 0, fakeJpeg(500))).toMatchObject({ type: "frame_ack" });
    expect(await rows(sid)).toEqual({ chunks: 3, frames: 1 });
    c.close();
  });

  test("resume: a reconnect's session_init_ack lists what is stored as index ranges; a new session's is the seed's", async () => {
    const sid = crypto.randomUUID();
    const a = await TestClient.connect(stack.wsUrl);
    a.send(init(sid));
    expect(await a.reply()).toEqual({ type: "session_init_ack", session_id: sid, status: "ready" });
    for (const i of [0, 1, 2, 4, 5, 6, 8, 9]) {
      expect(await sendAudio(a, sid, i, fakeWebm(500, i))).toEqual({ type: "audio_ack", chunk_index: i });
      expect(await sendFrame(a, sid, i, fakeJpeg(300, i))).toEqual({ type: "frame_ack", frame_index: i });
    }
    a.close();
    await a.waitClose();

    const b = await TestClient.connect(stack.wsUrl);
    b.send(init(sid));
    expect(await b.reply()).toEqual({
      type: "session_init_ack",
      session_id: sid,
      status: "ready",
      stored: { chunks: [[0, 2], [4, 6], [8, 9]], frames: [[0, 2], [4, 6], [8, 9]] },
      stored_truncated: false,
    });
    // A repeated init on the same connection: the seed's ack.
    b.send(init(sid));
    expect(await b.reply()).toEqual({ type: "session_init_ack", session_id: sid, status: "ready" });
    // The gaps are uploaded, then the ranges close up.
    expect(await sendAudio(b, sid, 3, fakeWebm(500, 3))).toEqual({ type: "audio_ack", chunk_index: 3 });
    expect(await sendFrame(b, sid, 7, fakeJpeg(300, 7))).toEqual({ type: "frame_ack", frame_index: 7 });
    b.close();
    await b.waitClose();
    const c = await TestClient.connect(stack.wsUrl);
    c.send(init(sid));
    expect(await c.reply()).toMatchObject({ stored: { chunks: [[0, 6], [8, 9]], frames: [[0, 2], [4, 9]] }, stored_truncated: false });
    c.close();
  });

  test("identical re-send is acked again with no new row; different bytes are refused and the stored ones kept", async () => {
    const sid = crypto.randomUUID();
    const c = await open(sid);
    const blob = fakeWebm(4000, 9);
    expect(await sendAudio(c, sid, 0, blob)).toEqual({ type: "audio_ack", chunk_index: 0 });
    expect(await sendAudio(c, sid, 0, blob)).toEqual({ type: "audio_ack", chunk_index: 0 });
    expect(await sendAudio(c, sid, 0, fakeWebm(4000, 10))).toMatchObject({ type: "error", code: "INDEX_CONFLICT", chunk_index: 0 });
    expect(await sendAudio(c, sid, 0, fakeWebm(3000, 10))).toMatchObject({ type: "error", code: "INDEX_CONFLICT", chunk_index: 0 });
    expect(new Uint8Array(readFileSync(join(stack.mediaDir, sid, "audio", "chunk_0.webm")))).toEqual(blob);
    expect(await rows(sid)).toEqual({ chunks: 1, frames: 0 });
    expect((await status(sid)).body).toMatchObject({ total_chunks: 1 });
    // the same frame concurrently on two connections: exactly one row
    const jpeg = fakeJpeg(2000, 4);
    const d = await TestClient.connect(stack.wsUrl);
    d.send(init(sid));
    await d.reply();
    const e = await open(sid); // takes over d; use c (taken over earlier by d) no more
    const results = await Promise.all([sendFrame(e, sid, 7, jpeg), sendFrame(e, sid, 7, jpeg)]);
    for (const r of results) expect(r).toEqual({ type: "frame_ack", frame_index: 7 });
    expect(await rows(sid)).toEqual({ chunks: 1, frames: 1 });
    e.close();
  });
});

describe("bad input gets its error, stores nothing, and the connection stays usable", () => {
  test("every non-closing error", async () => {
    const sid = crypto.randomUUID();
    const c = await open(sid);
    const other = crypto.randomUUID();
    const expectError = async (send: () => void, code: string, extra: object = {}) => {
      const n = c.messages.length;
      send();
      expect(await c.next(() => true, 10_000, n)).toMatchObject({ type: "error", code, ...extra });
    };
    await expectError(() => c.send("{nope"), "INVALID_JSON");
    await expectError(() => c.send("[1]"), "INVALID_JSON");
    await expectError(() => c.send({ type: "audio_chunk", session_id: sid }), "UNKNOWN_MESSAGE_TYPE");
    await expectError(() => c.send({ ...audioMeta(sid, 0, 10), chunk_index: -1 }), "INVALID_MESSAGE", { field: "chunk_index" });
    await expectError(() => c.send({ ...audioMeta(sid, 0, 10), size: 10.5 }), "INVALID_MESSAGE", { field: "size" });
    await expectError(() => c.send({ ...audioMeta(sid, 0, 10), duration_ms: "10000" }), "INVALID_MESSAGE", { field: "duration_ms" });
    await expectError(() => c.send({ ...frameMeta(sid, 0, 10), timestamp: "tuesday" }), "INVALID_MESSAGE", { field: "timestamp" });
    await expectError(() => c.send(audioMeta(other, 0, 10)), "SESSION_MISMATCH", { chunk_index: 0 });
    await expectError(() => c.send(audioMeta(sid, 0, 8 * 1024 * 1024 + 1)), "BLOB_TOO_LARGE", { chunk_index: 0 });
    await expectError(() => c.send(frameMeta(sid, 0, 2 * 1024 * 1024 + 1)), "BLOB_TOO_LARGE", { frame_index: 0 });
    await expectError(() => c.sendBlob(sid, "audio", 5, fakeWebm(100)), "METADATA_MISSING", { chunk_index: 5 });
    await expectError(() => (c.send(audioMeta(sid, 1, 100)), c.sendBlob(sid, "audio", 1, fakeWebm(99))), "SIZE_MISMATCH", { chunk_index: 1 });
    await expectError(() => (c.send(audioMeta(sid, 2, 100)), c.sendBlob(other, "audio", 2, fakeWebm(100))), "SESSION_MISMATCH", { chunk_index: 2 });
    await expectError(() => (c.send(audioMeta(sid, 3, 100)), c.sendBlob(sid, "audio", 3, fakeJpeg(100))), "UNSUPPORTED_MEDIA_TYPE", { chunk_index: 3 });
    await expectError(() => (c.send(frameMeta(sid, 3, 100)), c.sendBlob(sid, "frame", 3, fakeWebm(100))), "UNSUPPORTED_MEDIA_TYPE", { frame_index: 3 });
    await expectError(() => (c.send(frameMeta(sid, 4, 100)), c.sendBlob(sid, "frame", 4, new TextEncoder().encode("GIF89a".padEnd(100)))), "UNSUPPORTED_MEDIA_TYPE", { frame_index: 4 });
    await expectError(() => c.send(init(other)), "SESSION_MISMATCH");
    // nothing stored
    expect(files(sid, "audio")).toEqual([]);
    expect(files(sid, "frames")).toEqual([]);
    expect(await rows(sid)).toEqual({ chunks: 0, frames: 0 });
    expect((await status(sid)).body).toMatchObject({ total_chunks: 0, total_frames: 0 });
    // and the connection still works
    expect(await sendAudio(c, sid, 0, fakeWebm(777))).toEqual({ type: "audio_ack", chunk_index: 0 });
    expect(c.closed).toBeNull();
    c.close();
  });

  test("session_init may leave the ids out (the token's are used); naming another interview is FORBIDDEN", async () => {
    const sid = crypto.randomUUID();
    const c = await TestClient.connect(stack.wsUrl);
    c.send({ type: "session_init", session_id: sid, token });
    expect(await c.reply()).toEqual({ type: "session_init_ack", session_id: sid, status: "ready" });
    c.close();
    const d = await TestClient.connect(stack.wsUrl);
    d.send(init(crypto.randomUUID(), { interview_session_id: 987654321 }));
    expect(await d.reply()).toMatchObject({ type: "error", code: "FORBIDDEN" });
    expect(await d.waitClose()).toEqual({ code: 4403, reason: "FORBIDDEN" });
  });

  test.each([
    ["a malformed binary header", async (c: TestClient, sid: string) => c.sendBinary(new Uint8Array(12)), 4400, "MALFORMED_BINARY_HEADER", true],
    ["a bad type byte", async (c: TestClient, sid: string) => { const f = encodeBinaryFrame(sid, "audio", 0, fakeWebm(10)); f[36] = 0x7a; c.sendBinary(f); }, 4400, "MALFORMED_BINARY_HEADER", true],
    ["a blob before session_init", async (c: TestClient, sid: string) => c.sendBlob(sid, "audio", 0, fakeWebm(10)), 4401, "SESSION_NOT_INITIALIZED", false],
    ["metadata before session_init", async (c: TestClient, sid: string) => c.send(audioMeta(sid, 0, 10)), 4401, "SESSION_NOT_INITIALIZED", false],
    ["an invalid session id", async (c: TestClient) => c.send({ type: "session_init", session_id: "test-123" }), 4402, "INVALID_SESSION_ID", false],
  ] as const)("%s closes the connection", async (_name, act, code, reason, initFirst) => {
    const sid = crypto.randomUUID();
    const c = initFirst ? await open(sid) : await TestClient.connect(stack.wsUrl);
    await act(c, sid);
    expect(await c.waitClose()).toEqual({ code, reason });
    expect(c.messages.at(-1)).toMatchObject({ type: "error", code: reason });
    expect(files(sid, "audio")).toEqual([]);
  });

  test("a message over the size limit closes with 1009", async () => {
    const sid = crypto.randomUUID();
    const c = await open(sid);
    c.sendBlob(sid, "audio", 0, fakeWebm(8 * 1024 * 1024 + 100));
    expect((await c.waitClose()).code).toBe(1009);
    expect(files(sid, "audio")).toEqual([]);
  });
});

describe("HTTP", () => {
  test("status: 400 for a malformed id (also a malformed percent-encoding), 404 for an unknown one", async () => {
    expect(await status("not-a-uuid")).toMatchObject({ code: 400, body: { type: "error", code: "INVALID_SESSION_ID" } });
    expect(await status("%E0%A4%A")).toMatchObject({ code: 400, body: { code: "INVALID_SESSION_ID" } });
    expect(await status(crypto.randomUUID().toUpperCase())).toMatchObject({ code: 400 });
    expect(await status(crypto.randomUUID())).toMatchObject({ code: 404, body: { code: "SESSION_NOT_FOUND" } });
  });

  test("health, readiness; metrics on the ops port only", async () => {
    expect((await fetch(`${stack.gatewayUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${stack.gatewayUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`${stack.gatewayUrl}/metrics`)).status).toBe(404);
    const text = await (await fetch(stack.gatewayMetricsUrl)).text();
    expect(text).toContain('candid_gateway_chunks_total{outcome="created"');
    expect(text).toContain("candid_gateway_ack_latency_seconds_bucket");
    expect(text).toMatch(/candid_gateway_errors_total\{code="SIZE_MISMATCH"/);
  });

  test("interview sessions: create with the api key, and refuse a bad body; no CORS origin by default", async () => {
    const auth = { authorization: `Bearer ${stack.apiKey}` };
    expect((await fetch(`${stack.gatewayUrl}/interview-sessions`, { method: "POST", headers: auth, body: "{}" })).status).toBe(201);
    const foreign = await fetch(`${stack.gatewayUrl}/interview-sessions`, { method: "POST", headers: { ...auth, origin: "http://localhost:5173" }, body: "{}" });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    expect((await fetch(`${stack.gatewayUrl}/interview-sessions`, { method: "POST", headers: auth, body: "{x" })).status).toBe(400);
    expect((await fetch(`${stack.gatewayUrl}/interview-sessions`, { method: "POST", headers: auth, body: JSON.stringify({ title: 5 }) })).status).toBe(400);
    expect((await fetch(`${stack.gatewayUrl}/nowhere`)).status).toBe(404);
  });
});
