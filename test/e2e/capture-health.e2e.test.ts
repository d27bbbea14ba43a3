/**
 * Capture health in real headless Chromium against the real stack (`npm start`) on a PostgreSQL
 * database: the fake microphone plays digital silence and the fake camera a black picture (both
 * made with ffmpeg at test time). With the product's own thresholds (20 s of silence, 3 black
 * frames at the 2 s frame period) the page shows a banner for each, sends each transition as a
 * capture_event, and the gateway stores them in `capture_events` for that session. The uploads
 * go on meanwhile: every chunk and frame is acked.
 *
 * Hiding the tab: headless Chromium keeps document.visibilityState "visible" whatever is done to
 * it (minimising the window through CDP Browser.setWindowBounds, a second tab brought to the
 * front, Page.setWebLifecycleState frozen/active — all tried, with and without Playwright's
 * --disable-backgrounding-* flags). So the tab-hidden case overrides `visibilityState` in the
 * page and dispatches a real `visibilitychange` event: it checks the page's reaction and the
 * stored events, not Chromium's own occlusion tracking.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import type { Browser, Page } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { ffmpeg } from './support/audio.ts';
import { launchBrowser, readCounts, waitFor } from './support/browser.ts';
import { beginAndStart, stopAndWaitComplete } from './support/flow.ts';
import { startStack, type Stack } from './support/stack.ts';

let dir: string;
let db: TestDatabase;
let stack: Stack;
let browser: Browser;
let sql: postgres.Sql;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'candid-health-'));
  const wav = join(dir, 'silence.wav');
  const y4m = join(dir, 'black.y4m');
  await Promise.all([
    ffmpeg('-f', 'lavfi', '-i', 'anullsrc=r=48000:cl=mono', '-t', '5', '-c:a', 'pcm_s16le', wav),
    // 1 s of black at 10 fps (Chromium loops the file): 640x480, 4:2:0, as the fake camera needs
    ffmpeg('-f', 'lavfi', '-i', 'color=c=black:s=640x480:r=10', '-t', '1', '-pix_fmt', 'yuv420p', y4m),
  ]);
  db = await createTestDatabase('candid_health');
  [stack, browser] = await Promise.all([
    startStack({ env: { DATABASE_URL: db.url } }),
    launchBrowser(wav, [`--use-file-for-fake-video-capture=${y4m}`]),
  ]);
  sql = postgres(db.url, { max: 2, onnotice: () => {} });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await sql?.end({ timeout: 5 });
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Row {
  event_index: number;
  kind: string;
  phase: string;
  at: Date;
  detail: Record<string, unknown> | null;
}

function storedEvents(sessionId: string): Promise<Row[]> {
  return sql<Row[]>`
    select e.event_index::int as event_index, e.kind, e.phase, e."at", e.detail
    from capture_events e join media_sessions s on s.id = e.media_session_id
    where s.session_id = ${sessionId} order by e.event_index`;
}

/** Milliseconds from `t0` until the banner of `kind` is shown (polled every 100 ms). */
async function bannerAfter(page: Page, kind: string, t0: number, timeoutMs: number): Promise<number> {
  await page.getByTestId(`health-${kind}`).waitFor({ timeout: timeoutMs });
  return Date.now() - t0;
}

test('silent microphone and black camera: banners with what to do, capture_events stored, uploads unaffected', async () => {
  const page = await browser.newPage();
  const sessionId = await beginAndStart(page, stack); // the product's settings: 10 s chunks, 2 s frames
  const t0 = Date.now();

  const blackMs = await bannerAfter(page, 'camera_black', t0, 20_000);
  const black = page.getByTestId('health-camera_black');
  expect(await black.getAttribute('role')).toBe('alert');
  expect(await black.innerText()).toContain('camera picture is black');

  const silenceMs = await bannerAfter(page, 'silence', t0, 40_000);
  expect(silenceMs).toBeGreaterThanOrEqual(19_500); // the real 20 s, not a shortened one
  expect(await page.getByTestId('health-silence').innerText()).toContain('microphone seems silent');

  // Both are on the server while recording goes on.
  const during = await waitFor(async () => {
    const rows = await storedEvents(sessionId);
    return rows.some((r) => r.kind === 'silence') && rows.some((r) => r.kind === 'camera_black') ? rows : null;
  }, 15_000, 'silence and camera_black stored');
  const storedAfterMs = Date.now() - t0;

  // Tab hidden (simulated: see the module comment), then visible again.
  const hide = (hidden: boolean) =>
    page.evaluate((h) => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
      Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
      document.dispatchEvent(new Event('visibilitychange'));
    }, hidden);
  await hide(true);
  await page.getByTestId('health-tab_hidden').waitFor({ timeout: 5_000 });
  await Bun.sleep(1_000);
  await hide(false);
  await page.getByTestId('health-tab_hidden').waitFor({ state: 'detached', timeout: 5_000 });

  await stopAndWaitComplete(page);
  expect(await page.locator('[data-testid^=health-]').count()).toBe(0); // banners go with the recording
  const counts = await readCounts(page);
  expect(counts.chunks.acked).toBe(counts.chunks.recorded);
  expect(counts.frames.acked).toBe(counts.frames.recorded);
  expect(counts.chunks.failed + counts.frames.failed).toBe(0);

  const rows = await waitFor(async () => {
    const r = await storedEvents(sessionId);
    return r.filter((e) => e.phase === 'ended').length >= 3 ? r : null;
  }, 15_000, 'the ended events stored');
  const brief = rows.map((r) => `${r.kind}:${r.phase}`);
  // The page's own sequence from 0, no gaps.
  expect(rows.map((r) => r.event_index)).toEqual(rows.map((_, i) => i));
  expect(brief).toEqual(expect.arrayContaining(['camera_black:began', 'silence:began', 'tab_hidden:began', 'tab_hidden:ended', 'camera_black:ended', 'silence:ended']));
  // A black picture is never also "frozen"; a silent track is not muted.
  expect(brief.some((b) => b.startsWith('camera_frozen') || b.startsWith('mic_muted'))).toBe(false);
  const byKey = new Map(rows.map((r) => [`${r.kind}:${r.phase}`, r]));
  const silenceBegan = byKey.get('silence:began')!;
  const blackBegan = byKey.get('camera_black:began')!;
  expect(byKey.get('silence:ended')!.detail).toEqual({ cause: 'recording_stopped' });
  expect(blackBegan.detail).toMatchObject({ luma: 0 });
  // `at` is when the page noticed (docs/protocol.md); detail.after_ms how long it had held, so
  // `at - after_ms` is the onset: about when recording started, for both.
  expect(Number(silenceBegan.detail!.after_ms)).toBeGreaterThanOrEqual(20_000);
  expect(Number(blackBegan.detail!.after_ms)).toBeGreaterThanOrEqual(3_500); // 3 frames, 2 s apart
  const onset = (r: Row) => r.at.getTime() - Number(r.detail!.after_ms);
  expect(Math.abs(onset(silenceBegan) - t0)).toBeLessThan(3_000);
  expect(Math.abs(onset(blackBegan) - t0)).toBeLessThan(3_000);
  expect(Math.abs(silenceBegan.at.getTime() - (t0 + silenceMs))).toBeLessThan(1_500);
  expect(byKey.get('tab_hidden:ended')!.at.getTime() - byKey.get('tab_hidden:began')!.at.getTime()).toBeGreaterThanOrEqual(900);

  console.log(
    JSON.stringify({
      test: 'capture-health',
      bannerAfterMs: { camera_black: blackMs, silence: silenceMs },
      storedWhileRecordingAfterMs: storedAfterMs,
      storedWhileRecording: during.map((r) => `${r.kind}:${r.phase}`),
      events: brief,
      afterMs: { silence: silenceBegan.detail!.after_ms, camera_black: blackBegan.detail!.after_ms },
      chunks: counts.chunks.recorded,
      frames: counts.frames.recorded,
    }),
  );
  await page.close();
}, 180_000);
