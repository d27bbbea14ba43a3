/**
 * The issue's "tried as a new user would", automated: `npm start` (the launcher, transcription on,
 * on a PostgreSQL database), an interview recorded in real headless Chromium whose fake
 * microphone speaks espeak-ng sentences and whose fake camera shows a photo of three people. Within
 * seconds of each ack, the chunk's transcript and the frames' faces are in PostgreSQL, and the
 * analysis route shows them on one timeline.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { dirname, join } from 'node:path';
import postgres from 'postgres';
import type { Browser } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { speakToWav, tempDir, venv, words } from '../support/speech';
import { ffmpeg } from './support/audio.ts';
import { launchBrowser, readCounts, waitFor } from './support/browser.ts';
import { beginAndStart, stopAndWaitComplete } from './support/flow.ts';
import { startStack, type Stack } from './support/stack.ts';

const SAID = 'Good morning. My name is Ada and I build software. Last year I worked on a compiler for a small language. I learned how much testing matters.';

const tmp = tempDir('candid-analysis-browser-');
let db: TestDatabase;
let stack: Stack;
let browser: Browser;
let sql: postgres.Sql;

beforeAll(async () => {
  const transcriberVenv = venv('CANDID_TRANSCRIBER_VENV', 'transcriber-venv', '--test');
  speakToWav(SAID, tmp.file('said.wav'));
  // Chromium loops the fake microphone's file: the sentences, then 3 s of silence, again and again.
  await ffmpeg('-i', tmp.file('said.wav'), '-af', 'apad=pad_dur=3', '-ar', '48000', '-ac', '1', '-c:a', 'pcm_s16le', tmp.file('mic.wav'));
  const photo = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo', 'sample1.jpg');
  await ffmpeg('-loop', '1', '-i', photo, '-t', '1', '-r', '10', '-vf', 'scale=640:480', '-pix_fmt', 'yuv420p', tmp.file('camera.y4m'));
  db = await createTestDatabase('candid_analysis_ui');
  [stack, browser] = await Promise.all([
    startStack({ env: { DATABASE_URL: db.url, CANDID_TRANSCRIPTION: '1', CANDID_TRANSCRIBER_VENV: transcriberVenv } }),
    launchBrowser(tmp.file('mic.wav'), [`--use-file-for-fake-video-capture=${tmp.file('camera.y4m')}`]),
  ]);
  sql = postgres(db.url, { max: 2, onnotice: () => {} });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await sql?.end({ timeout: 5 });
  await db?.drop();
  tmp.cleanup();
});

test('record in Chromium: each chunk is transcribed and each frame counted within seconds of its ack', async () => {
  const page = await browser.newPage();
  // The transcriber may still be loading its model when the first chunk arrives: the processor retries.
  await waitFor(async () => stack.logs().some((l) => l.msg === 'child started' && l.child === 'transcriber'), 120_000, 'transcriber started');
  const sessionId = await beginAndStart(page, stack);
  await waitFor(async () => (await readCounts(page)).chunks.acked >= 2, 60_000, 'two chunks acked');
  await stopAndWaitComplete(page);

  type Row = { kind: string; idx: number; lag_ms: number; transcription: string | null; faces: number | null };
  const rows = () =>
    sql<Row[]>`
      select 'audio' as kind, a.chunk_index::int as idx, extract(epoch from (a.analyzed_at - a.received_at)) * 1000 as lag_ms,
        a.transcription, null::int as faces
      from audio_chunks a join media_sessions m on m.id = a.media_session_id where m.session_id = ${sessionId} and a.processed
      union all
      select 'frame', f.frame_index::int, extract(epoch from (f.analyzed_at - f.received_at)) * 1000, null, jsonb_array_length(f.analysis -> 'faces')
      from video_frames f join media_sessions m on m.id = f.media_session_id where m.session_id = ${sessionId} and f.processed`;
  const [totals] = await sql<{ chunks: number; frames: number }[]>`
    select total_chunks as chunks, total_frames as frames from media_sessions where session_id = ${sessionId}`;
  const { chunks, frames } = totals!;
  expect(chunks).toBeGreaterThanOrEqual(2);
  await waitFor(async () => (await rows()).length === chunks + frames, 120_000, 'every chunk and frame analysed');
  const all = await rows();
  const audio = all.filter((r) => r.kind === 'audio').sort((a, b) => a.idx - b.idx);
  const pics = all.filter((r) => r.kind === 'frame');
  const lags = all.map((r) => Number(r.lag_ms)).sort((a, b) => a - b);
  console.log(`analysis lag (row received -> result): p50 ${Math.round(lags[Math.floor(lags.length / 2)]!)} ms, max ${Math.round(lags.at(-1)!)} ms over ${lags.length} items`);
  const heard = new Set(audio.flatMap((r) => words(r.transcription ?? '')));
  const said = words(SAID);
  const recall = said.filter((w) => heard.has(w)).length / said.length;
  console.log(`transcripts: ${audio.map((r) => JSON.stringify(r.transcription)).join(' | ')}; recall of the spoken words ${recall.toFixed(2)}`);
  expect(recall).toBeGreaterThan(0.6);
  // Three people in the picture; the tiny detector may miss one in a frame, never add one.
  expect(pics.filter((p) => p.faces === 3).length / pics.length).toBeGreaterThan(0.7);
  expect(pics.every((p) => (p.faces ?? 0) <= 3)).toBe(true);

  const r = await fetch(`${stack.gatewayUrl}/sessions/${sessionId}/analysis`, { headers: { authorization: `Bearer ${stack.apiKey}` } });
  expect(r.status).toBe(200);
  const body = (await r.json()) as { summary: { talk_time_ms: number; chunks: { pending: number } }; chunks: Array<{ analysis: { words: unknown[] } }> };
  expect(body.summary.chunks.pending).toBe(0);
  expect(body.summary.talk_time_ms).toBeGreaterThan(5000);
  expect(body.chunks.flatMap((c) => c.analysis.words).length).toBeGreaterThan(10);
}, 240_000);
