/**
 * The review side end to end, every part its own process (gateway, storage on local disk,
 * metadata on PostgreSQL): an interview recorded over the WebSocket as the browser records it
 * (a 30 s chirp cut into three 10 s WebM/Opus chunks whose recorders overlap by 120 ms, JPEG
 * frames every 2 s), completed (sealed), then read as a reviewer: the interview list and detail,
 * the stitched audio (decoded with ffmpeg: continuous across the chunk boundaries, its length the
 * recording's), HTTP Range, frames, the timeline, the manifest, verify (then a changed byte and a
 * deleted chunk), the export zip, and who may read what.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { unzipSync } from "fflate";
import sharp from "sharp";
import { sha256Hex } from "../../services/shared/sha256";
import { startStack, type Stack } from "../support/stack";
import { tempDir } from "../support/speech";
import { TestClient } from "../support/ws-client";
import { decodePcm, ffmpeg, locate, ringDelta } from "./support/audio";
import { type Chirp, chirpSamples, writeChirpWav } from "./support/chirp";

/** A 1 s sweep, looped for 30 s: fast enough that 20 ms of it is located to the sample (a slow one is nearly a pure tone over 20 ms, ambiguous by its period). */
const CHIRP: Chirp = { sampleRate: 48_000, seconds: 1, f0: 300, f1: 3300 };
/** The recorded start of each chunk is off by this much (the browser's clock jitter): the stitcher must find the true place. */
const JITTER_MS = [0, 25, -20];
const T0 = Date.parse("2026-12-03T10:00:00.000Z");
const OVERLAP_MS = 120;
const iso = (ms: number) => new Date(ms).toISOString();

let stack: Stack;
const tmp = tempDir("candid-review-e2e-");
const chunks: { startMs: number; endMs: number; bytes: Uint8Array }[] = [];
const frames: Uint8Array[] = [];
let interviewA: number;
let interviewB: number;
let sidA: string;
let sidB: string;
let reviewerA: string;
let uploadTokenA: string;

async function upload(interview: number, token: string, audio = chunks, pics = frames, complete = true): Promise<string> {
  const sid = crypto.randomUUID();
  const c = await TestClient.connect(stack.wsUrl);
  c.send({ type: "session_init", session_id: sid, interview_session_id: interview, user_id: 7, timestamp: iso(T0), token });
  await c.next((m) => m.type === "session_init_ack");
  const acks: Promise<unknown>[] = [];
  audio.forEach((ch, i) => {
    c.send({ type: "audio_metadata", session_id: sid, chunk_index: i, start_timestamp: iso(ch.startMs), end_timestamp: iso(ch.endMs), duration_ms: ch.endMs - ch.startMs, size: ch.bytes.length });
    c.sendBlob(sid, "audio", i, ch.bytes);
    acks.push(c.next((m) => m.type === "audio_ack" && m.chunk_index === i, 20_000));
  });
  pics.forEach((blob, i) => {
    c.send({ type: "frame_metadata", session_id: sid, frame_index: i, chunk_index: Math.floor(i / 5), timestamp: iso(T0 + i * 2000), offset_ms: (i * 2000) % 10_000, size: blob.length });
    c.sendBlob(sid, "frame", i, blob);
    acks.push(c.next((m) => m.type === "frame_ack" && m.frame_index === i, 20_000));
  });
  await Promise.all(acks);
  if (complete) {
    c.send({ type: "session_complete", session_id: sid, total_chunks: audio.length, total_frames: pics.length });
    await c.next((m) => m.type === "session_complete_ack", 20_000);
  }
  c.close();
  return sid;
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const get = (path: string, t: string, headers: Record<string, string> = {}) => fetch(`${stack.gatewayUrl}${path}`, { headers: { ...bearer(t), ...headers } });

beforeAll(async () => {
  stack = await startStack();
  writeChirpWav(tmp.file("chirp1.wav"), CHIRP);
  await ffmpeg("-stream_loop", "-1", "-i", tmp.file("chirp1.wav"), "-t", "30", "-c:a", "pcm_s16le", tmp.file("chirp.wav"));
  // Chunk k records [10k − overlap, 10k + 10] s of the chirp (the first from 0): the browser's
  // next recorder starts before the current one stops.
  for (let k = 0; k < 3; k++) {
    const from = k === 0 ? 0 : k * 10 - OVERLAP_MS / 1000;
    const to = k * 10 + 10;
    await ffmpeg("-ss", String(from), "-t", String(to - from), "-i", tmp.file("chirp.wav"), "-c:a", "libopus", "-b:a", "32k", "-ar", "48000", "-ac", "1", "-f", "webm", tmp.file(`c${k}.webm`));
    chunks.push({ startMs: T0 + Math.round(from * 1000) + JITTER_MS[k]!, endMs: T0 + to * 1000, bytes: new Uint8Array(readFileSync(tmp.file(`c${k}.webm`))) });
  }
  for (let i = 0; i < 15; i++) {
    frames.push(new Uint8Array(await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: (i * 17) % 255, g: 80, b: 160 } } }).jpeg({ quality: 80 }).toBuffer()));
  }
  interviewA = await stack.api.createInterview("review A");
  interviewB = await stack.api.createInterview("review B");
  uploadTokenA = (await stack.api.mintToken(interviewA, 7));
  sidA = await upload(interviewA, uploadTokenA);
  sidB = await upload(interviewB, (await stack.api.mintToken(interviewB, 7)), chunks.slice(0, 1), frames.slice(0, 2));
  const r = await fetch(`${stack.gatewayUrl}/reviewer-tokens`, { method: "POST", headers: { ...bearer(stack.apiKey), "content-type": "application/json" }, body: JSON.stringify({ interview_session_id: interviewA, ttl_s: 600 }) });
  expect(r.status).toBe(201);
  reviewerA = ((await r.json()) as { token: string }).token;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  tmp.cleanup();
});

describe("review", () => {
  test("a reviewer lists its interview and sees its sessions sealed", async () => {
    const list = (await (await get("/interview-sessions", reviewerA)).json()) as { interview_sessions: { interview_session_id: number; media_sessions: number }[] };
    expect(list.interview_sessions.map((i) => i.interview_session_id)).toEqual([interviewA]);
    const all = (await (await get("/interview-sessions", stack.apiKey)).json()) as { interview_sessions: { interview_session_id: number }[] };
    expect(all.interview_sessions.map((i) => i.interview_session_id)).toEqual([interviewB, interviewA]);
    const d = (await (await get(`/interview-sessions/${interviewA}`, reviewerA)).json()) as { media_sessions: Record<string, unknown>[] };
    expect(d.media_sessions).toHaveLength(1);
    expect(d.media_sessions[0]).toMatchObject({ session_id: sidA, status: "completed", stored_chunks: 3, stored_frames: 15, sealed: true, duration_ms: 30_000 });
    expect(d.media_sessions[0]!.manifest_sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  test("the stitched audio plays the recording once, without a gap or a repeat at the chunk boundaries", async () => {
    const r = await get(`/sessions/${sidA}/audio`, reviewerA);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("audio/ogg");
    expect(r.headers.get("cache-control")).toContain("private");
    expect(r.headers.get("accept-ranges")).toBe("bytes");
    const ogg = new Uint8Array(await r.arrayBuffer());
    writeFileSync(tmp.file("stitched.ogg"), ogg);
    const pcm = await decodePcm(tmp.file("stitched.ogg"));
    const seconds = pcm.length / CHIRP.sampleRate;
    console.log(`stitched track: ${seconds.toFixed(3)} s of a 30 s recording, ${ogg.length} bytes`);
    expect(Math.abs(seconds - 30)).toBeLessThan(0.5);
    // Locate 20 ms windows every 50 ms across each boundary: the offset between track time and
    // chirp time must not jump (a jump is a gap, a fall a repeat).
    const chirp = chirpSamples(CHIRP);
    const w = 960;
    for (const boundaryS of [10, 20]) {
      const offsets: number[] = [];
      for (let t = boundaryS - 0.5; t <= boundaryS + 0.5; t += 0.05) {
        const at = Math.round(t * CHIRP.sampleRate);
        const { pos, score } = locate(pcm.subarray(at, at + w), chirp, CHIRP, 0.05);
        if (score > 0.9) offsets.push(ringDelta(at, pos, chirp.length));
      }
      expect(offsets.length).toBeGreaterThan(15);
      const jump = Math.max(...offsets) - Math.min(...offsets);
      console.log(`boundary at ${boundaryS} s: offset spread ${((jump / CHIRP.sampleRate) * 1000).toFixed(2)} ms over ${offsets.length} windows`);
      expect(jump).toBeLessThanOrEqual(480); // 10 ms
    }
  });

  test("HTTP Range: a part (206), the tail, and past the end (416)", async () => {
    const whole = new Uint8Array(await (await get(`/sessions/${sidA}/audio`, reviewerA)).arrayBuffer());
    const part = await get(`/sessions/${sidA}/audio`, reviewerA, { range: "bytes=100-199" });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 100-199/${whole.length}`);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(whole.subarray(100, 200));
    const tail = await get(`/sessions/${sidA}/audio`, reviewerA, { range: "bytes=-10" });
    expect(new Uint8Array(await tail.arrayBuffer())).toEqual(whole.subarray(whole.length - 10));
    const past = await get(`/sessions/${sidA}/audio`, reviewerA, { range: `bytes=${whole.length}-` });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe(`bytes */${whole.length}`);
  });

  test("frames and the timeline: each frame at its place on the track, no gaps", async () => {
    const f = await get(`/sessions/${sidA}/frames/3`, reviewerA);
    expect(f.status).toBe(200);
    expect(f.headers.get("content-type")).toBe("image/jpeg");
    expect(Buffer.from(await f.arrayBuffer()).equals(Buffer.from(frames[3]!))).toBe(true);
    expect((await get(`/sessions/${sidA}/frames/99`, reviewerA)).status).toBe(404);
    const t = (await (await get(`/sessions/${sidA}/timeline`, reviewerA)).json()) as { duration_ms: number; gaps: unknown[]; chunks: { chunk_index: number; start_ms: number; end_ms: number }[]; frames: { frame_index: number; at_ms: number }[]; origin: string };
    expect(t.origin).toBe(iso(T0));
    expect(Math.abs(t.duration_ms - 30_000)).toBeLessThan(50);
    expect(t.gaps).toEqual([]);
    expect(t.chunks.map((c) => c.chunk_index)).toEqual([0, 1, 2]);
    for (let i = 1; i < t.chunks.length; i++) expect(t.chunks[i]!.start_ms).toBe(t.chunks[i - 1]!.end_ms);
    expect(t.frames.map((x) => x.at_ms)).toEqual(frames.map((_, i) => i * 2000));
  });

  test("the manifest lists every item with its hash; verify says complete, then finds a changed byte and a deleted chunk", async () => {
    const m = (await (await get(`/sessions/${sidA}/manifest`, reviewerA)).json()) as { chunks: { index: number; sha256: string; size: number }[]; frames: unknown[]; missing_chunks: number[]; chain_head: string };
    expect(m.chunks.map((c) => [c.index, c.sha256, c.size])).toEqual(chunks.map((c, i) => [i, sha256Hex(c.bytes), c.bytes.length]));
    expect(m.frames).toHaveLength(15);
    expect(m.missing_chunks).toEqual([]);
    const verify = async () => (await (await fetch(`${stack.gatewayUrl}/sessions/${sidA}/verify`, { method: "POST", headers: bearer(reviewerA) })).json()) as Record<string, unknown>;
    expect(await verify()).toMatchObject({ ok: true, chunks: 3, frames: 15, missing_chunks: [], missing_frames: [], mismatched: [], summary: "complete, 3 chunks, 15 frames, 0 gaps, hashes match" });

    const chunk1 = join(stack.mediaDir, sidA, "audio", "chunk_1.webm");
    const original = readFileSync(chunk1);
    const changed = Buffer.from(original);
    const at = changed.length >> 1;
    changed[at] = changed[at]! ^ 0xff;
    writeFileSync(chunk1, changed);
    expect(await verify()).toMatchObject({ ok: false, mismatched: [{ kind: "audio", index: 1 }], missing_chunks: [] });
    writeFileSync(chunk1, original);
    rmSync(join(stack.mediaDir, sidA, "audio", "chunk_2.webm"));
    expect(await verify()).toMatchObject({ ok: false, mismatched: [], missing_chunks: [2] });
    writeFileSync(join(stack.mediaDir, sidA, "audio", "chunk_2.webm"), chunks[2]!.bytes);
    // A manifest rewritten in storage no longer matches the hash PostgreSQL holds.
    const mf = join(stack.mediaDir, sidA, "manifest.json");
    const sealed = readFileSync(mf);
    writeFileSync(mf, Buffer.from(sealed.toString().replace(`"missing_chunks": []`, `"missing_chunks": [ ]`)));
    expect(await verify()).toMatchObject({ ok: false, manifest_intact: false });
    writeFileSync(mf, sealed);
    expect(await verify()).toMatchObject({ ok: true });
  });

  test("the export: one zip with the stitched audio, every frame, the manifest and the metadata", async () => {
    const r = await get(`/interview-sessions/${interviewA}/export`, reviewerA);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/zip");
    expect(r.headers.get("content-disposition")).toBe(`attachment; filename="interview-${interviewA}.zip"`);
    const files = unzipSync(new Uint8Array(await r.arrayBuffer()));
    const names = Object.keys(files).sort();
    const p = `interview-${interviewA}/`;
    expect(names).toEqual([`${p}${sidA}/audio.ogg`, ...frames.map((_, i) => `${p}${sidA}/frames/frame_${i}.jpg`), `${p}${sidA}/manifest.json`, `${p}interview.json`].sort());
    expect(Buffer.from(files[`${p}${sidA}/frames/frame_4.jpg`]!).equals(Buffer.from(frames[4]!))).toBe(true);
    const meta = JSON.parse(new TextDecoder().decode(files[`${p}interview.json`]));
    expect(meta).toMatchObject({ interview_session_id: interviewA, title: "review A", media_sessions: [{ session_id: sidA, sealed: true }] });
    writeFileSync(tmp.file("export.ogg"), files[`${p}${sidA}/audio.ogg`]!);
    expect(Math.abs((await decodePcm(tmp.file("export.ogg"))).length / 48_000 - 30)).toBeLessThan(0.5);
  });

  test("who reads what: B's reviewer, A's upload token and no bearer get nothing of A", async () => {
    const r = await fetch(`${stack.gatewayUrl}/reviewer-tokens`, { method: "POST", headers: bearer(stack.apiKey), body: JSON.stringify({ interview_session_id: interviewB }) });
    const reviewerB = ((await r.json()) as { token: string }).token;
    for (const path of [`/sessions/${sidA}/audio`, `/sessions/${sidA}/frames/0`, `/sessions/${sidA}/manifest`, `/sessions/${sidA}/timeline`, `/interview-sessions/${interviewA}`, `/interview-sessions/${interviewA}/export`]) {
      for (const t of [reviewerB, uploadTokenA]) {
        const res = await get(path, t);
        expect(res.status, `${path}`).toBe(404);
        // Byte for byte what an unknown id answers.
        const unknown = await get(path.replace(sidA, crypto.randomUUID()).replace(`/interview-sessions/${interviewA}`, "/interview-sessions/999999"), t);
        expect(await res.text()).toBe(await unknown.text());
      }
      expect((await fetch(`${stack.gatewayUrl}${path}`)).status).toBe(401);
    }
    expect((await fetch(`${stack.gatewayUrl}/sessions/${sidA}/verify`, { method: "POST", headers: bearer(uploadTokenA) })).status).toBe(404);
    // B's reviewer reads B; the upload token still reads its own status; a reviewer cannot mint.
    expect((await get(`/sessions/${sidB}/manifest`, reviewerB)).status).toBe(200);
    expect((await get(`/sessions/${sidA}/status`, uploadTokenA)).status).toBe(200);
    expect((await get(`/sessions/${sidA}/status`, reviewerA)).status).toBe(200);
    expect((await fetch(`${stack.gatewayUrl}/reviewer-tokens`, { method: "POST", headers: bearer(reviewerA), body: "{}" })).status).toBe(401);
    expect((await get("/interview-sessions", uploadTokenA)).status).toBe(403);
  });

  test("an open session has no manifest yet (409), and verify compares the blobs with the rows", async () => {
    const sid = await upload(interviewA, uploadTokenA, chunks.slice(0, 1), frames.slice(0, 1), false);
    const m = await get(`/sessions/${sid}/manifest`, reviewerA);
    expect(m.status).toBe(409);
    expect(((await m.json()) as { code: string }).code).toBe("SESSION_NOT_SEALED");
    const v = (await (await fetch(`${stack.gatewayUrl}/sessions/${sid}/verify`, { method: "POST", headers: bearer(reviewerA) })).json()) as Record<string, unknown>;
    expect(v).toMatchObject({ ok: true, sealed: false, chunks: 1, frames: 1 });
  });
});
