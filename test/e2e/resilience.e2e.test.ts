/**
 * Recording survives the failures a candidate meets: the gateway restarting mid-recording
 * (SIGKILL; the launcher starts a new one) and an accidental page reload while items are still
 * unacknowledged. In both, every chunk and frame ends up stored exactly once.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchBrowser, readCounts, waitFor } from './support/browser.ts';
import { DEFAULT_CHIRP, writeChirpWav } from './support/chirp.ts';
import { beginAndStart, checkAudio, checkFrames, expectContiguous, stopAndWaitComplete } from './support/flow.ts';
import { startStack, storedFiles, type Stack } from './support/stack.ts';

let stack: Stack;
let browser: Browser;
let chirp: Float32Array;

beforeAll(async () => {
  const wav = join(mkdtempSync(join(tmpdir(), 'candid-chirp-')), 'chirp.wav');
  chirp = writeChirpWav(wav);
  [stack, browser] = await Promise.all([startStack(), launchBrowser(wav)]);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function expectAllStoredOnce(sessionId: string, chunks: number, frames: number) {
  const status = await stack.status(sessionId);
  expect(status).toMatchObject({ status: 'completed', total_chunks: chunks, total_frames: frames });
  const audio = await checkAudio(stack, sessionId, chirp, DEFAULT_CHIRP);
  expectContiguous(audio.files, chunks);
  expectContiguous(checkFrames(stack, sessionId), frames);
  return audio;
}

test('gateway restart mid-recording: the page shows the outage, reconnects, and everything is stored once', async () => {
  const page = await browser.newPage();
  const t0 = Date.now();
  const sessionId = await beginAndStart(page, stack, 'chunkMs=2000&frameMs=500');
  await Bun.sleep(4500);
  const before = await readCounts(page);
  const oldPid = await stack.killGateway();
  const killedAt = Date.now();
  await page.getByTestId('network-warning').waitFor({ timeout: 10_000 });
  const warnedAfterMs = Date.now() - killedAt;
  await stack.waitGatewayRestart(oldPid);
  await waitFor(async () => (await readCounts(page)).connection === 'open', 30_000, 'page reconnected');
  const reconnectedAfterMs = Date.now() - killedAt;
  await page.getByTestId('network-warning').waitFor({ state: 'detached', timeout: 10_000 });
  await Bun.sleep(3000);
  await stopAndWaitComplete(page);
  const after = await readCounts(page);
  expect(after.reconnects).toBeGreaterThanOrEqual(1);
  expect(after.chunks).toMatchObject({ acked: after.chunks.recorded, waiting: 0, failed: 0 });
  expect(after.frames).toMatchObject({ acked: after.frames.recorded, waiting: 0, failed: 0 });
  expect(after.chunks.recorded).toBeGreaterThan(before.chunks.recorded);
  const audio = await expectAllStoredOnce(sessionId, after.chunks.recorded, after.frames.recorded);
  for (const d of audio.deltasMs) expect(d).toBeLessThanOrEqual(2);
  console.log(
    JSON.stringify({
      test: 'gateway-restart',
      elapsedMs: Date.now() - t0,
      warnedAfterMs,
      reconnectedAfterMs,
      reconnects: after.reconnects,
      chunks: after.chunks.recorded,
      frames: after.frames.recorded,
      measuredBoundaryMs: audio.deltasMs.map((d) => +d.toFixed(2)),
    }),
  );
  await page.close();
}, 120_000);

test('page reload mid-recording: items captured before the reload still arrive, and recording resumes', async () => {
  const ctx = await browser.newContext();
  // Hold back everything but session_init for a while, so the reload happens with unacked items
  // that exist only in the page's IndexedDB.
  let blackhole = false;
  await ctx.routeWebSocket(/\/ws\/media-stream$/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      if (blackhole && !(typeof m === 'string' && m.includes('"session_init"'))) return;
      server.send(m);
    });
  });
  const page = await ctx.newPage();
  const t0 = Date.now();
  const sessionId = await beginAndStart(page, stack, 'chunkMs=2000&frameMs=500');
  await Bun.sleep(3000);
  blackhole = true;
  await Bun.sleep(5000);
  const before = await readCounts(page);
  expect(before.chunks.waiting).toBeGreaterThanOrEqual(2);
  expect(before.frames.waiting).toBeGreaterThanOrEqual(5);
  const storedBefore = storedFiles(stack.mediaDir, sessionId);
  expect(storedBefore.audio.length).toBeLessThan(before.chunks.recorded);

  blackhole = false;
  await page.reload();
  await page.getByTestId('resumed').waitFor({ timeout: 15_000 });
  expect((await readCounts(page)).sessionId).toBe(sessionId);
  await waitFor(async () => {
    const c = await readCounts(page);
    return c.chunks.waiting === 0 && c.frames.waiting === 0 && c.chunks.recorded >= before.chunks.recorded;
  }, 30_000, 'recovered items uploaded');
  const storedAfterReload = storedFiles(stack.mediaDir, sessionId);
  expectContiguous(storedAfterReload.audio.slice(0, before.chunks.recorded), before.chunks.recorded);
  expectContiguous(storedAfterReload.frames.slice(0, before.frames.recorded), before.frames.recorded);

  // Recording continues in the same session, numbering carries on.
  await waitFor(() => page.evaluate(() => (document.querySelector('video')?.videoWidth ?? 0) > 0), 15_000, 'camera preview');
  await page.getByRole('button', { name: /start/i }).click();
  await Bun.sleep(4500);
  await stopAndWaitComplete(page);
  const after = await readCounts(page);
  expect(after.chunks.recorded).toBeGreaterThan(before.chunks.recorded);
  expect(after.chunks).toMatchObject({ acked: after.chunks.recorded, waiting: 0 });
  await expectAllStoredOnce(sessionId, after.chunks.recorded, after.frames.recorded);
  console.log(
    JSON.stringify({
      test: 'reload',
      elapsedMs: Date.now() - t0,
      waitingAtReload: { chunks: before.chunks.waiting, frames: before.frames.waiting },
      storedAtReload: { chunks: storedBefore.audio.length, frames: storedBefore.frames.length },
      final: { chunks: after.chunks.recorded, frames: after.frames.recorded },
    }),
  );
  await ctx.close();
}, 120_000);
