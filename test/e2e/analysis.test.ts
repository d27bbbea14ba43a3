/**
 * Analysis end to end, every part real and its own process: gateway, storage (fs), metadata
 * (PostgreSQL), the processor and the Python transcriber (faster-whisper tiny.en from
 * CANDID_TRANSCRIBER_VENV). Media go in over the WebSocket as the browser sends them: espeak-ng
 * speech and silence encoded as Chromium's MediaRecorder does (WebM/Opus 32 kbps, 10 s), the
 * face-api package's photos and a black frame as 640 px JPEGs. The results come out of
 * GET /sessions/{id}/analysis and PostgreSQL. Then a processor is killed (SIGKILL) while it holds
 * a claim: the chunk is analysed later, once, by the next one.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import postgres from "postgres";
import sharp from "sharp";
import { freePort, httpOk, REPO_ROOT, type ServiceProc, startService, grpcReady } from "../support/procs";
import { encodeBrowserChunk, speakToWav, tempDir, venv, words } from "../support/speech";
import { startStack, type Stack } from "../support/stack";
import { TestClient } from "../support/ws-client";

const SPOKEN = "Tell me about a project you worked on last year and what you learned from it.";
const T0 = Date.parse("2026-12-03T10:00:00.000Z");

let stack: Stack;
let transcriber: ServiceProc;
let transcriberAddr: string;
let sql: postgres.Sql;
const processors: ServiceProc[] = [];
const tmp = tempDir("candid-analysis-e2e-");
let speechChunk: Uint8Array;
let silentChunk: Uint8Array;
const jpegs = new Map<string, Uint8Array>();

function wer(ref: string[], hyp: string[]): number {
  const d = Array.from({ length: ref.length + 1 }, (_, i) => [i, ...Array(hyp.length).fill(0)] as number[]);
  for (let j = 0; j <= hyp.length; j++) d[0]![j] = j;
  for (let i = 1; i <= ref.length; i++)
    for (let j = 1; j <= hyp.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1));
  return d[ref.length]![hyp.length]! / ref.length;
}

async function startProcessor(env: Record<string, string> = {}): Promise<ServiceProc> {
  const port = await freePort();
  const p = await startService({
    name: "processor",
    entry: "services/processor/main.ts",
    env: {
      METADATA_ADDR: stack.metadataAddr,
      STORAGE_ADDR: stack.storageAddr,
      TRANSCRIBER_ADDR: transcriberAddr,
      PROCESSOR_HOST: "127.0.0.1",
      PROCESSOR_METRICS_PORT: String(port),
      PROCESSOR_POLL_MS: "100",
      ...env,
    },
    ready: () => httpOk(`http://127.0.0.1:${port}/readyz`),
    timeoutMs: 60_000,
  });
  processors.push(p);
  return p;
}

beforeAll(async () => {
  const dir = venv("CANDID_TRANSCRIBER_VENV", "transcriber-venv", "--test");
  stack = await startStack();
  sql = postgres(stack.db.url, { max: 2, onnotice: () => {} });
  const [port, opsPort] = await Promise.all([freePort(), freePort()]);
  transcriberAddr = `127.0.0.1:${port}`;
  transcriber = await startService({
    name: "transcriber",
    entry: "services/transcriber/main.py",
    cmd: [join(dir, "bin", "python"), join(REPO_ROOT, "services/transcriber/main.py")],
    env: { TRANSCRIBER_PORT: String(port), TRANSCRIBER_OPS_PORT: String(opsPort) },
    ready: () => grpcReady(transcriberAddr),
    timeoutMs: 60_000,
  });
  speakToWav(SPOKEN, tmp.file("speech.wav"));
  encodeBrowserChunk(tmp.file("speech.wav"), tmp.file("speech.webm"));
  Bun.spawnSync(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-t", "10", tmp.file("silence.wav")]);
  encodeBrowserChunk(tmp.file("silence.wav"), tmp.file("silence.webm"));
  speechChunk = new Uint8Array(readFileSync(tmp.file("speech.webm")));
  silentChunk = new Uint8Array(readFileSync(tmp.file("silence.webm")));
  const demo = join(dirname(require.resolve("@vladmandic/face-api/package.json")), "demo");
  for (const name of ["sample1.jpg", "sample5.jpg"]) jpegs.set(name, new Uint8Array(await sharp(readFileSync(join(demo, name))).resize(640).jpeg({ quality: 80 }).toBuffer()));
  jpegs.set("black", new Uint8Array(await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 0, g: 0, b: 0 } } }).jpeg({ quality: 80 }).toBuffer()));
}, 180_000);

afterAll(async () => {
  for (const p of processors) await p.stop();
  await transcriber?.stop();
  await sql?.end();
  await stack?.stop();
  tmp.cleanup();
});

const iso = (ms: number) => new Date(ms).toISOString();

/** One session over the WebSocket: audio chunks (10 s each, 300 ms overlaps) and frames; resolves when all are acked. */
async function upload(audio: Uint8Array[], frames: Uint8Array[]): Promise<{ sid: string; ackedAt: number }> {
  const interview = await stack.api.createInterview("analysis e2e");
  const token = await stack.api.mintToken(interview, 7);
  const sid = crypto.randomUUID();
  const c = await TestClient.connect(stack.wsUrl);
  c.send({ type: "session_init", session_id: sid, interview_session_id: interview, user_id: 7, timestamp: iso(T0), token });
  await c.next((m) => m.type === "session_init_ack");
  const acks: Promise<unknown>[] = [];
  audio.forEach((blob, i) => {
    c.send({ type: "audio_metadata", session_id: sid, chunk_index: i, start_timestamp: iso(T0 + i * 10_000), end_timestamp: iso(T0 + i * 10_000 + 10_300), duration_ms: 10_300, size: blob.length });
    c.sendBlob(sid, "audio", i, blob);
    acks.push(c.next((m) => m.type === "audio_ack" && m.chunk_index === i, 20_000));
  });
  frames.forEach((blob, i) => {
    c.send({ type: "frame_metadata", session_id: sid, frame_index: i, chunk_index: Math.floor(i / 5), timestamp: iso(T0 + i * 2000), offset_ms: (i * 2000) % 10_000, size: blob.length });
    c.sendBlob(sid, "frame", i, blob);
    acks.push(c.next((m) => m.type === "frame_ack" && m.frame_index === i, 20_000));
  });
  await Promise.all(acks);
  const ackedAt = Date.now();
  c.close();
  return { sid, ackedAt };
}

// biome-ignore lint: the body is the documented JSON
type Body = any;
async function analysis(sid: string): Promise<Body> {
  const r = await fetch(`${stack.gatewayUrl}/sessions/${sid}/analysis`, { headers: { authorization: `Bearer ${stack.api.apiKey}` } });
  expect(r.status).toBe(200);
  return r.json();
}

/** What went wrong, for a failure's message: the rows' work state and the last warnings of the processor and transcriber. */
async function diagnosis(sid: string): Promise<string> {
  const rows = await sql`select a.chunk_index, a.processed, a.analysis_attempts, a.analysis_failed, a.analysis_error from audio_chunks a
    join media_sessions m on m.id = a.media_session_id where m.session_id = ${sid} order by a.chunk_index`;
  const warn = (p: ServiceProc | undefined) => (p ? p.logs().filter((l) => l.level === "warn" || l.level === "error").slice(-5) : []);
  return JSON.stringify({ rows, processor: processors.flatMap(warn), transcriber: warn(transcriber), transcriberTail: transcriber?.output().slice(-800) });
}

async function untilAnalysed(sid: string, timeoutMs = 90_000): Promise<Body> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const a = await analysis(sid);
    const s = a.summary;
    if (s.chunks.pending === 0 && s.frames.pending === 0) return a;
    if (Date.now() > deadline) throw new Error(`not analysed within ${timeoutMs} ms: ${JSON.stringify(s)}`);
    await Bun.sleep(100);
  }
}

describe("analysis of a real session", () => {
  test("speech is transcribed, silence is silent, faces are counted, a black and a frozen camera are flagged", async () => {
    await startProcessor();
    const frames = [jpegs.get("sample1.jpg")!, jpegs.get("sample5.jpg")!, jpegs.get("black")!, jpegs.get("sample5.jpg")!];
    const { sid, ackedAt } = await upload([speechChunk, silentChunk], frames);
    const a = await untilAnalysed(sid);
    const lagMs = Date.now() - ackedAt;
    console.log(`analysis lag (ack -> every result readable): ${lagMs} ms for 2 chunks + 4 frames`);

    const [speech, silence] = a.chunks;
    if (!speech.processed || !silence.processed) throw new Error(`a chunk was not analysed: ${await diagnosis(sid)}`);
    expect(speech.analysis.speech_ratio).toBeGreaterThan(0.3);
    const heard = words(speech.transcription);
    const errorRate = wer(words(SPOKEN), heard);
    console.log(`WER ${errorRate.toFixed(3)} on "${SPOKEN}" -> "${speech.transcription}"`);
    expect(errorRate).toBeLessThanOrEqual(0.25);
    expect(speech.analysis.words.length).toBeGreaterThan(10);
    const starts = speech.analysis.words.map((w: { start_ms: number }) => w.start_ms);
    expect(starts).toEqual([...starts].sort((x: number, y: number) => x - y));
    expect(starts[0]).toBeGreaterThanOrEqual(0);
    expect(speech.analysis.rms_dbfs).toBeGreaterThan(-40);

    expect(silence).toMatchObject({ processed: true, transcription: "" });
    expect(silence.analysis).toMatchObject({ speech_ratio: 0, speech_segments: [], words: [], rms_dbfs: -100 });

    expect(a.frames.map((f: Body) => f.analysis.faces.length)).toEqual([3, 5, 0, 5]);
    expect(a.frames.map((f: Body) => f.analysis.quality.black)).toEqual([false, false, true, false]);
    expect(a.frames.map((f: Body) => f.analysis.quality.frozen)).toEqual([null, false, false, false]);
    for (const f of a.frames[1].analysis.faces) expect(f.score).toBeGreaterThan(0.3);

    expect(a.summary).toMatchObject({ frames: { total: 4, processed: 4, without_face: 1, black: 1 } });
    expect(a.summary.talk_time_ms).toBeGreaterThan(2000);
    expect(a.summary.longest_silence_ms).toBeGreaterThanOrEqual(9000);

    // The same picture twice in a row is a frozen camera.
    const frozen = await upload([], [jpegs.get("sample1.jpg")!, jpegs.get("sample1.jpg")!]);
    const b = await untilAnalysed(frozen.sid);
    expect(b.frames.map((f: Body) => f.analysis.quality.frozen)).toEqual([null, true]);

    // PostgreSQL holds the seed's columns: processed, transcription, analysis.
    const rows = await sql`select a.chunk_index, a.processed, a.transcription, a.analysis ->> 'speech_ratio' as ratio, a.analysis_attempts
      from audio_chunks a join media_sessions m on m.id = a.media_session_id where m.session_id = ${sid} order by a.chunk_index`;
    // One claim each: nothing failed and was retried (the reasons are in the message if it did).
    expect(rows.map((r) => [Number(r.chunk_index), r.processed, r.analysis_attempts]), await diagnosis(sid)).toEqual([
      [0, true, 1],
      [1, true, 1],
    ]);
    expect(rows[0]!.transcription).toBe(speech.transcription);
  }, 180_000);

  test("a processor killed while it holds a claim: the chunk is analysed later, once, by the next one", async () => {
    for (const p of processors.splice(0)) expect(await p.stop()).toBe(0);
    const { sid } = await upload([speechChunk], []);
    const doomed = await startProcessor({ PROCESSOR_LEASE_MS: "2000" });
    const claimed = async () => {
      const [r] = await sql`select a.analysis_claimed_by, a.processed from audio_chunks a join media_sessions m on m.id = a.media_session_id where m.session_id = ${sid}`;
      return r as { analysis_claimed_by: string | null; processed: boolean } | undefined;
    };
    const deadline = Date.now() + 30_000;
    while (!(await claimed())?.analysis_claimed_by) {
      if (Date.now() > deadline) throw new Error("the processor never claimed the chunk");
      await Bun.sleep(2);
    }
    doomed.proc.kill("SIGKILL");
    await doomed.proc.exited;
    processors.splice(processors.indexOf(doomed), 1);
    const after = await claimed();
    expect(after?.processed).toBe(false); // killed before its result was written
    // The next processor has the default lease (2 min), so its one claim cannot expire while it
    // works (its first item includes warming its models up); it gets the item once the dead
    // one's 2 s claim has run out.
    await startProcessor();
    const a = await untilAnalysed(sid, 60_000);
    if (!a.chunks[0].processed) throw new Error(`the chunk was not analysed: ${await diagnosis(sid)}`);
    expect(wer(words(SPOKEN), words(a.chunks[0].transcription))).toBeLessThanOrEqual(0.25);
    const [row] = await sql`select a.analysis_attempts, a.analysis_claimed_by, a.analysis_failed from audio_chunks a join media_sessions m on m.id = a.media_session_id where m.session_id = ${sid}`;
    expect(row, await diagnosis(sid)).toEqual({ analysis_attempts: 2, analysis_claimed_by: null, analysis_failed: false });
  }, 120_000);
});
