/**
 * The interviewer's side in real Chromium against `npm start` (suite.stack, local review mode as
 * the launcher sets it): record ~30 s with the chirp microphone, then, as a reviewer on the same
 * machine, open the interview from the home page and play it through the page's own <audio>
 * (the stitched track through the web server's proxy) with the shown picture following playback;
 * drive it by keyboard; verify; export (the zip's entries; its audio decoded with ffmpeg: the chirp
 * runs on across every chunk boundary, and the length is the recording's); erase it in local mode.
 * A reviewer-token login and the 401 page are checked over plain HTTP with a non-local Host name.
 */
import { expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { decodePcm, ffprobe, locate, ringDelta } from './support/audio.ts';
import { captureLog, waitFor } from './support/browser.ts';
import { SWEEP } from './support/chirp.ts';
import { beginAndStart, stopAndWaitComplete } from './support/flow.ts';
import { browserSuite } from './support/suite.ts';

const suite = browserSuite(SWEEP);

interface TimelineJson {
  duration_ms: number;
  chunks: Array<{ chunk_index: number; start_ms: number; end_ms: number }>;
  gaps: unknown[];
  frames: Array<{ frame_index: number; at_ms: number }>;
}
// (every frame of a recorded session has a time: at_ms is null only without timestamps)

async function gw<T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const r = await fetch(`${suite.stack.gatewayUrl}${path}`, { ...init, headers: { authorization: `Bearer ${suite.stack.apiKey}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
  return { status: r.status, body: (await r.json().catch(() => null)) as T };
}

/** The frame the page should show at t ms: the one with the largest at_ms ≤ t. */
function frameAt(frames: TimelineJson['frames'], tMs: number): number | null {
  let best: number | null = null;
  for (const f of [...frames].sort((a, b) => a.at_ms - b.at_ms)) if (f.at_ms <= tMs) best = f.frame_index;
  return best;
}

const player = (page: Page) =>
  page.evaluate(() => {
    const a = document.querySelector<HTMLAudioElement>('[data-testid=audio]')!;
    const f = document.querySelector('[data-testid=current-frame]')!.getAttribute('data-frame-index');
    return { t: a.currentTime, paused: a.paused, ended: a.ended, duration: a.duration, frame: f === '' || f === null ? null : Number(f) };
  });

test('record 30 s, then review it: gapless playback with the pictures following, keys, verify, export, erase', async () => {
  const { stack, chirp } = suite;
  // --- the candidate records ~30 s (5 s chunks: six boundaries to check; a picture a second)
  const rec = await suite.browser.newPage();
  const sessionId = await beginAndStart(rec, stack, 'chunkMs=5000&frameMs=1000');
  const interviewId = Number(new URL(rec.url()).searchParams.get('interview'));
  expect(interviewId).toBeGreaterThan(0);
  await Bun.sleep(30_000);
  await stopAndWaitComplete(rec);
  const log = await captureLog(rec);
  await rec.close();
  const recordingMs = log.chunks.at(-1)!.endWallMs - log.chunks[0]!.startWallMs;

  const sealed = await waitFor(
    async () => {
      const d = await gw<{ media_sessions: Array<{ session_id: string; sealed: boolean; total_chunks: number; total_frames: number }> }>(`/interview-sessions/${interviewId}`);
      const s = d.body?.media_sessions.find((m) => m.session_id === sessionId);
      return s?.sealed ? s : null;
    },
    30_000,
    'the session sealed',
  );
  expect(sealed.total_chunks).toBe(log.chunks.length);
  const timeline = (await gw<TimelineJson>(`/sessions/${sessionId}/timeline`)).body;
  expect(timeline.frames.length).toBe(log.frames.length);
  expect(timeline.gaps).toEqual([]);

  // --- the reviewer, on this machine: home page → Review
  const ctx = await suite.browser.newContext({ acceptDownloads: true });
  const page = await ctx.newPage();
  await page.goto(`${stack.webUrl}/`);
  await page.getByRole('link', { name: `Review interview ${interviewId}` }).click();
  await page.waitForURL(new RegExp(`/review/${interviewId}$`));
  const cookie = (await ctx.cookies()).find((c) => c.name === 'candid_review');
  expect(cookie).toMatchObject({ path: '/review', httpOnly: true, sameSite: 'Strict' });
  // The bearer stays out of everything the page can read.
  expect(await page.content()).not.toContain(cookie!.value);
  expect(await page.evaluate(() => document.cookie)).not.toContain('candid_review');
  expect(await page.content()).not.toContain(stack.apiKey);

  const row = page.locator(`[data-session-id="${sessionId}"]`);
  await expect(row.getByTestId('badge').textContent()).resolves.toContain('sealed');

  // --- the audio element plays the stitched track, as long as the recording
  const meta = await waitFor(async () => {
    const p = await player(page);
    return Number.isFinite(p.duration) && p.duration > 0 ? p : null;
  }, 20_000, 'audio metadata');
  expect(Math.abs(meta.duration * 1000 - recordingMs)).toBeLessThan(500);
  expect(Math.abs(meta.duration * 1000 - timeline.duration_ms)).toBeLessThan(100);
  expect(meta.frame).toBe(frameAt(timeline.frames, 0));

  // Play it through (at 2× to halve the wait): time advances, the shown picture follows.
  await page.evaluate(() => {
    document.querySelector<HTMLAudioElement>('[data-testid=audio]')!.playbackRate = 2;
  });
  await page.getByTestId('play').click();
  const samples: Array<Awaited<ReturnType<typeof player>>> = [];
  const end = Date.now() + recordingMs / 2 + 20_000;
  for (;;) {
    const p = await player(page);
    samples.push(p);
    if (p.ended || Date.now() > end) break;
    await Bun.sleep(250);
  }
  const last = samples.at(-1)!;
  expect(last.ended).toBe(true);
  expect(Math.abs(last.t - meta.duration)).toBeLessThan(0.1);
  const playing = samples.filter((s) => !s.paused && !s.ended);
  expect(playing.length).toBeGreaterThan(10);
  for (let i = 1; i < playing.length; i++) expect(playing[i]!.t).toBeGreaterThanOrEqual(playing[i - 1]!.t);
  // At every sample the shown picture is the one for that time (give or take one animation frame at 2×).
  for (const s of playing) {
    const allowed = [frameAt(timeline.frames, s.t * 1000 - 100), frameAt(timeline.frames, s.t * 1000), frameAt(timeline.frames, s.t * 1000 + 100)];
    expect(allowed).toContain(s.frame);
  }
  const shownFrames = new Set(playing.map((s) => s.frame));
  expect(shownFrames.size).toBeGreaterThanOrEqual(Math.floor(timeline.frames.length / 2));

  // --- keyboard only: focus on the page itself, not a control
  await page.locator('h1').click();
  await page.keyboard.press('Home');
  await waitFor(async () => (await player(page)).t === 0, 5000, 'Home seeks to 0');
  await page.keyboard.press('Space');
  await waitFor(async () => !(await player(page)).paused, 5000, 'Space plays');
  await page.keyboard.press('Space');
  await waitFor(async () => (await player(page)).paused, 5000, 'Space pauses');
  await page.keyboard.press('Home');
  await page.keyboard.press('ArrowRight');
  const afterSeek = await waitFor(async () => {
    const p = await player(page);
    return Math.abs(p.t - 5) < 0.05 ? p : null;
  }, 5000, '→ seeks to 5 s');
  expect(afterSeek.frame).toBe(frameAt(timeline.frames, 5000));
  await page.keyboard.press('.');
  const next = [...timeline.frames].sort((a, b) => a.at_ms - b.at_ms).find((f) => f.at_ms > (timeline.frames.find((x) => x.frame_index === afterSeek.frame)?.at_ms ?? -1))!;
  const afterNext = await waitFor(async () => {
    const p = await player(page);
    return p.frame === next.frame_index ? p : null;
  }, 5000, '. shows the next picture');
  expect(Math.abs(afterNext.t * 1000 - next.at_ms)).toBeLessThan(50);
  await page.keyboard.press('ArrowLeft');
  await waitFor(async () => Math.abs((await player(page)).t * 1000 - Math.max(0, next.at_ms - 5000)) < 50, 5000, '← seeks back 5 s');

  // --- verify
  await page.getByTestId('verify').click();
  await page.getByTestId('verify-result').getByText('hashes match').waitFor({ timeout: 60_000 });
  expect(await page.getByTestId('verify-result').textContent()).toContain(`complete, ${log.chunks.length} chunks, 0 gaps, hashes match`);
  const shot = process.env.CANDID_SCREENSHOT;
  if (shot) {
    mkdirSync(dirname(resolve(shot)), { recursive: true });
    await page.setViewportSize({ width: 1100, height: 1400 });
    await page.screenshot({ path: resolve(shot) });
  }

  // --- export: one zip with the stitched audio, every picture, the manifest and interview.json
  const dir = mkdtempSync(join(tmpdir(), 'candid-export-'));
  try {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export').click()]);
    const zip = join(dir, 'export.zip');
    await download.saveAs(zip);
    const list = Bun.spawn(['unzip', '-Z1', zip], { stdout: 'pipe', stderr: 'pipe' });
    const entries = (await new Response(list.stdout).text()).split('\n').filter(Boolean);
    expect(await list.exited).toBe(0);
    // Everything under one folder named after the interview (unpacking it makes no mess).
    const root = `interview-${interviewId}`;
    expect(entries).toContain(`${root}/interview.json`);
    expect(entries).toContain(`${root}/${sessionId}/audio.ogg`);
    expect(entries).toContain(`${root}/${sessionId}/manifest.json`);
    for (const f of timeline.frames) expect(entries).toContain(`${root}/${sessionId}/frames/frame_${f.frame_index}.jpg`);
    expect(entries.filter((e) => e.includes('/frames/')).length).toBe(timeline.frames.length);
    const unzip = Bun.spawn(['unzip', '-q', zip, `${root}/${sessionId}/audio.ogg`, '-d', dir], { stdout: 'pipe', stderr: 'pipe' });
    expect(await unzip.exited).toBe(0);
    const ogg = join(dir, root, sessionId, 'audio.ogg');
    const probe = await ffprobe(ogg);
    expect(probe.ok, probe.stderr).toBe(true);
    expect(probe.codec).toBe('opus');
    const pcm = await decodePcm(ogg, SWEEP.sampleRate);
    const rate = SWEEP.sampleRate;
    expect(Math.abs((pcm.length / rate) * 1000 - recordingMs)).toBeLessThan(500);
    // Across every chunk boundary the sweep runs on: 20 ms before and 20 ms after it are as far
    // apart in the signal as on the track (no gap, no repeat over 10 ms). Windows that straddle
    // the sweep's own loop seam do not match (score < 0.9): then the pair 60 ms further out is used.
    const w = Math.round(0.02 * rate);
    const errorsMs: number[] = [];
    for (const c of timeline.chunks.slice(1)) {
      const b = Math.round((c.start_ms / 1000) * rate);
      let measured: number | null = null;
      for (const awayMs of [10, 70, 130]) {
        const away = Math.round((awayMs / 1000) * rate);
        const before = b - w - away;
        const after = b + away;
        const A = locate(pcm.subarray(before, before + w), chirp, SWEEP, 0.6);
        const B = locate(pcm.subarray(after, after + w), chirp, SWEEP, 0.6);
        if (Math.min(A.score, B.score) < 0.9) continue;
        measured = ((ringDelta(A.pos, B.pos, chirp.length) - (after - before)) / rate) * 1000;
        break;
      }
      expect(measured, `boundary at ${c.start_ms} ms: the sweep found on both sides`).not.toBeNull();
      errorsMs.push(measured!);
    }
    expect(errorsMs.length).toBe(log.chunks.length - 1);
    for (const e of errorsMs) expect(Math.abs(e)).toBeLessThanOrEqual(10);
    console.log(JSON.stringify({ test: 'review', recordingMs, trackMs: timeline.duration_ms, audioDurationMs: Math.round(meta.duration * 1000), boundaryErrorMs: errorsMs.map((e) => +e.toFixed(2)), framesShown: shownFrames.size, frames: timeline.frames.length }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // --- erase (local mode), behind a confirmation
  await page.getByTestId('erase').click();
  await page.getByTestId('erase-yes').click();
  const refusal = page.getByRole('alert');
  await Promise.race([page.waitForURL(/\/review\?erased=/, { timeout: 30_000 }).catch(() => {}), refusal.waitFor({ timeout: 30_000 }).catch(() => {})]);
  expect(page.url(), `erase refused: ${await refusal.textContent().catch(() => '')}`).toMatch(/\/review\?erased=/);
  await waitFor(
    async () => {
      await page.goto(`${stack.webUrl}/review`);
      return (await page.locator(`[data-interview-id="${interviewId}"]`).count()) === 0;
    },
    30_000,
    'the interview gone from the list',
  );
  const gone = await page.goto(`${stack.webUrl}/review/${interviewId}`);
  expect(gone?.status()).toBe(404);
  expect((await gw(`/interview-sessions/${interviewId}`)).status).toBe(404);
  await ctx.close();
}, 240_000);

test('a reviewer link: the token goes into an HttpOnly cookie and leaves the URL; without access /review is 401', async () => {
  const { stack } = suite;
  // A Host name that is not this machine's: local mode does not apply, as for a deployed web app.
  const host = { host: 'review.example' };
  const none = await fetch(`${stack.webUrl}/review`, { headers: host, redirect: 'manual' });
  expect(none.status).toBe(401);
  expect(await none.text()).toContain('review link');

  const created = await gw<{ interview_session_id: number }>('/interview-sessions', { method: 'POST', body: JSON.stringify({ title: 'review link test' }) });
  const id = created.body.interview_session_id;
  const minted = await gw<{ token: string }>('/reviewer-tokens', { method: 'POST', body: JSON.stringify({ interview_session_id: id, ttl_s: 600 }) });
  expect(minted.status).toBe(201);
  const token = minted.body.token;

  const bad = await fetch(`${stack.webUrl}/review/login?token=${token.slice(0, -4)}AAAA`, { headers: host, redirect: 'manual' });
  expect(bad.status).toBe(401);
  expect(await bad.text()).not.toContain(token.slice(0, 20));

  const login = await fetch(`${stack.webUrl}/review/login?token=${token}`, { headers: host, redirect: 'manual' });
  expect(login.status).toBe(303);
  expect(login.headers.get('location')).toBe(`/review/${id}`);
  const setCookie = login.headers.get('set-cookie') ?? '';
  expect(setCookie).toContain(`candid_review=${token}`);
  expect(setCookie).toMatch(/HttpOnly/i);
  expect(setCookie).toMatch(/SameSite=Strict/i);
  expect(setCookie).toMatch(/Path=\/review/);

  const withCookie = await fetch(`${stack.webUrl}/review/${id}`, { headers: { ...host, cookie: `candid_review=${token}` }, redirect: 'manual' });
  expect(withCookie.status).toBe(200);
  const html = await withCookie.text();
  expect(html).toContain('review link test');
  expect(html).not.toContain(token);
  // Scoped to one interview: the list shows only it; erasing is not offered (not local).
  const listed = await fetch(`${stack.webUrl}/review`, { headers: { ...host, cookie: `candid_review=${token}` } });
  expect(listed.status).toBe(200);
  const listHtml = await listed.text();
  expect(listHtml).toContain(`data-interview-id="${id}"`);
  expect(listHtml.match(/data-interview-id=/g)?.length).toBe(1);
  expect(html).not.toContain('data-testid="erase"');
  const erase = await fetch(`${stack.webUrl}/review/${id}/erase`, {
    method: 'POST',
    headers: { ...host, origin: 'http://review.example', 'content-type': 'application/json', cookie: `candid_review=${token}` },
    body: JSON.stringify({ confirm: id }),
  });
  expect(erase.status).toBe(403);
  expect((await gw(`/interview-sessions/${id}`)).status).toBe(200);
  // The home page lists nothing for a browser elsewhere.
  const home = await fetch(`${stack.webUrl}/`, { headers: host });
  expect(await home.text()).not.toContain('Interviews recorded on this machine');
}, 60_000);
