/**
 * A full media volume through the real stack (gateway, storage on local disk, metadata on
 * PostgreSQL, each its own process): MEDIA_STORAGE_DIR is on a 4 MiB tmpfs of its own. A filler
 * file takes most of it, chunks are streamed until the disk is full, and the one that no longer
 * fits must be refused with STORAGE_FULL on an open connection: no partial or temp file, no ack,
 * no row; the refusal is counted (candid_storage_errors_total{code="STORAGE_FULL"}) and the free
 * bytes gauge shows the volume empty. Once the filler is deleted, the very same bytes re-sent
 * are acked and stored exactly once, with their SHA-256.
 *
 * Mounting needs root (or CAP_SYS_ADMIN): elsewhere the file is skipped with the reason printed.
 * Needs PostgreSQL (test/system-deps.sh).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import type { ServerMessage } from "../../proto/wire";
import { sha256Hex } from "../../services/storage/core/checksum";
import { type Stack, startStack } from "../support/stack";
import { fillVolume, mountTmpfs, type Tmpfs, tmpfsUnavailable } from "../support/tmpfs";
import { fakeJpeg, fakeWebm, TestClient } from "../support/ws-client";

const VOLUME_BYTES = 4 * 1024 * 1024;
const CHUNK_BYTES = 200 * 1024;
const SAMPLE_MS = 200;

const noTmpfs = tmpfsUnavailable();
if (noTmpfs) console.warn(`SKIPPED test/integration/disk-full.test.ts: ${noTmpfs}`);

let vol: Tmpfs | undefined;
let stack: Stack | undefined;
let sql: postgres.Sql;
let interviewId: number;
let token: string;

const iso = (ms: number) => new Date(ms).toISOString();
const T0 = Date.parse("2025-12-16T10:30:00Z");
const mediaDir = () => join(vol!.dir, "media");
const fillers: string[] = [];

function filler(): string {
  const path = join(vol!.dir, `filler-${fillers.length}.bin`);
  fillers.push(path);
  return path;
}

async function open(sid: string): Promise<TestClient> {
  const c = await TestClient.connect(stack!.wsUrl);
  c.send({ type: "session_init", session_id: sid, interview_session_id: interviewId, user_id: 1, timestamp: iso(T0), token });
  expect(await c.reply()).toEqual({ type: "session_init_ack", session_id: sid, status: "ready" });
  return c;
}

function sendAudio(c: TestClient, sid: string, i: number, blob: Uint8Array): Promise<ServerMessage> {
  const n = c.messages.length;
  c.send({ type: "audio_metadata", session_id: sid, chunk_index: i, start_timestamp: iso(T0 + i * 10_000), end_timestamp: iso(T0 + (i + 1) * 10_000), duration_ms: 10_000, size: blob.length });
  c.sendBlob(sid, "audio", i, blob);
  return c.next((m) => (m.type === "audio_ack" && m.chunk_index === i) || (m.type === "error" && m.chunk_index === i), 10_000, n);
}

function sendFrame(c: TestClient, sid: string, i: number, blob: Uint8Array): Promise<ServerMessage> {
  const n = c.messages.length;
  c.send({ type: "frame_metadata", session_id: sid, frame_index: i, chunk_index: 0, timestamp: iso(T0 + i * 2000), offset_ms: (i % 5) * 2000, size: blob.length });
  c.sendBlob(sid, "frame", i, blob);
  return c.next((m) => (m.type === "frame_ack" && m.frame_index === i) || (m.type === "error" && m.frame_index === i), 10_000, n);
}

/** Every name in a session's folder, temp files (".…tmp") included. */
const names = (sid: string, sub: "audio" | "frames") => {
  try {
    return readdirSync(join(mediaDir(), sid, sub)).sort();
  } catch {
    return [];
  }
};

const audioRows = (sid: string) =>
  sql`select a.chunk_index::int as i, a.sha256 from audio_chunks a join media_sessions m on m.id = a.media_session_id where m.session_id = ${sid} order by a.chunk_index`;
const frameRows = (sid: string) =>
  sql`select f.frame_index::int as i, f.sha256 from video_frames f join media_sessions m on m.id = f.media_session_id where m.session_id = ${sid} order by f.frame_index`;

/** The value of one series in a /metrics page (0 when absent). */
async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(url)).text();
  for (const line of text.split("\n")) {
    if (!line.startsWith(name) || (line[name.length] !== "{" && line[name.length] !== " ")) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return 0;
}

async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > until) return v;
    await Bun.sleep(50);
  }
}

beforeAll(async () => {
  if (noTmpfs) return;
  vol = mountTmpfs(VOLUME_BYTES);
  stack = await startStack({ mediaDir: join(vol.dir, "media"), storageEnv: { STORAGE_VOLUME_SAMPLE_MS: String(SAMPLE_MS) } });
  sql = postgres(stack.db.url, { max: 2, onnotice: () => {} });
  interviewId = await stack.api.createInterview("disk full");
  token = await stack.api.mintToken(interviewId, 1);
}, 120_000);

afterAll(async () => {
  await sql?.end({ timeout: 5 });
  await stack?.stop();
  for (const f of fillers) rmSync(f, { force: true });
  vol?.unmount();
});

describe.skipIf(noTmpfs !== null)("a full media volume", () => {
  test("the item that does not fit is refused STORAGE_FULL and leaves nothing; once space is back its re-send is stored exactly once", async () => {
    const s = stack!;
    const sid = crypto.randomUUID();
    const c = await open(sid);
    // the sampler sees a 4 MiB volume, nearly empty
    expect(await eventually(() => metric(s.storageMetricsUrl, "candid_storage_volume_size_bytes"), (v) => v > 0)).toBe(VOLUME_BYTES);
    expect(await metric(s.storageMetricsUrl, "candid_storage_errors_total", { code: "STORAGE_FULL" })).toBe(0);

    // leave room for a few chunks, then stream until one no longer fits
    fillVolume(vol!, filler(), 3 * CHUNK_BYTES + CHUNK_BYTES / 2);
    const chunks: Uint8Array[] = [];
    let refused: ServerMessage | undefined;
    for (let i = 0; i < 10 && !refused; i++) {
      chunks.push(fakeWebm(CHUNK_BYTES, i + 1));
      const answer = await sendAudio(c, sid, i, chunks[i]!);
      if (answer.type === "error") refused = answer;
      else expect(answer).toEqual({ type: "audio_ack", chunk_index: i });
    }
    expect(refused).toMatchObject({ type: "error", code: "STORAGE_FULL", chunk_index: 3 });
    const full = 3;

    // nothing of it: no file, no temp file, no ack, no row; the connection stays usable
    expect(names(sid, "audio")).toEqual(["chunk_0.webm", "chunk_1.webm", "chunk_2.webm"]);
    expect(c.messages.some((m) => m.type === "audio_ack" && m.chunk_index === full)).toBe(false);
    expect((await audioRows(sid)).map((r) => r.i)).toEqual([0, 1, 2]);
    expect(c.closed).toBeNull();

    // a frame on a volume with no byte left: refused the same way, into a folder of its own
    fillVolume(vol!, filler(), 0);
    const frame = fakeJpeg(50 * 1024, 7);
    expect(await sendFrame(c, sid, 0, frame)).toMatchObject({ type: "error", code: "STORAGE_FULL", frame_index: 0 });
    expect(names(sid, "frames")).toEqual([]);
    expect((await frameRows(sid)).length).toBe(0);
    await Bun.sleep(20);
    expect(c.closed).toBeNull();

    // counted by both services, and the gauge shows the volume full
    expect(await metric(s.storageMetricsUrl, "candid_storage_errors_total", { code: "STORAGE_FULL" })).toBe(2);
    expect(await metric(s.gatewayMetricsUrl, "candid_gateway_errors_total", { code: "STORAGE_FULL" })).toBe(2);
    expect(await eventually(() => metric(s.storageMetricsUrl, "candid_storage_volume_free_bytes"), (v) => v === 0)).toBe(0);

    // space is back: the same bytes, re-sent on the same connection, are acked and stored once
    for (const f of fillers.splice(0)) rmSync(f);
    expect(await eventually(() => metric(s.storageMetricsUrl, "candid_storage_volume_free_bytes"), (v) => v > 3 * 1024 * 1024)).toBeGreaterThan(3 * 1024 * 1024);
    expect(await sendAudio(c, sid, full, chunks[full]!)).toEqual({ type: "audio_ack", chunk_index: full });
    expect(await sendFrame(c, sid, 0, frame)).toEqual({ type: "frame_ack", frame_index: 0 });
    // a second re-send (an ack lost in flight) changes nothing
    expect(await sendAudio(c, sid, full, chunks[full]!)).toEqual({ type: "audio_ack", chunk_index: full });

    expect(names(sid, "audio")).toEqual(["chunk_0.webm", "chunk_1.webm", "chunk_2.webm", "chunk_3.webm"]);
    expect(names(sid, "frames")).toEqual(["frame_0.jpg"]);
    const rows = await audioRows(sid);
    expect(rows.map((r) => r.i)).toEqual([0, 1, 2, 3]);
    for (const [i, data] of chunks.entries()) {
      expect(sha256Hex(readFileSync(join(mediaDir(), sid, "audio", `chunk_${i}.webm`)))).toBe(sha256Hex(data));
      expect(rows[i]!.sha256).toBe(sha256Hex(data));
    }
    expect(sha256Hex(readFileSync(join(mediaDir(), sid, "frames", "frame_0.jpg")))).toBe(sha256Hex(frame));
    expect((await frameRows(sid)).map((r) => [r.i, r.sha256])).toEqual([[0, sha256Hex(frame)]]);
    c.close();
  }, 60_000);
});
