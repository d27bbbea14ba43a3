/**
 * Recording survives the failures a candidate meets: the gateway restarting mid-recording
 * (SIGKILL; the launcher starts a new one) and an accidental page reload while items are still
 * unacknowledged. In both, every chunk and frame ends up stored exactly once.
 */
import { expect, test } from 'bun:test';
import { readCounts, waitFor } from './support/browser.ts';
import { SWEEP } from './support/chirp.ts';
import { beginAndStart, checkAudio, checkFrames, expectContiguous, stopAndWaitComplete } from './support/flow.ts';
import { storedFiles } from './support/stack.ts';
import { browserSuite } from './support/suite.ts';

const suite = browserSuite(SWEEP);

async function expectAllStoredOnce(sessionId: string, chunks: number, frames: number) {
  const status = await suite.stack.status(sessionId);
  expect(status).toMatchObject({ status: 'completed', total_chunks: chunks, total_frames: frames });
  const audio = await checkAudio(suite.stack, sessionId, suite.chirp, SWEEP);
  expectContiguous(audio.files, chunks);
  expectContiguous(checkFrames(suite.stack, sessionId), frames);
  return audio;
}

test('gateway restart mid-recording: the page shows the outage, reconnects, and everything is stored once', async () => {
  const page = await suite.browser.newPage();
  const t0 = Date.now();
  const sessionId = await beginAndStart(page, suite.stack, 'chunkMs=2000&frameMs=500');
  await Bun.sleep(4500);
  const before = await readCounts(page);
  const oldPid = await suite.stack.killGateway();
  const killedAt = Date.now();
  await page.getByTestId('network-warning').waitFor({ timeout: 10_000 });
  const warnedAfterMs = Date.now() - killedAt;
  await suite.stack.waitGatewayRestart(oldPid);
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
  const ctx = await suite.browser.newContext();
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
  const sessionId = await beginAndStart(page, suite.stack, 'chunkMs=2000&frameMs=500');
  await Bun.sleep(3000);
  blackhole = true;
  await Bun.sleep(5000);
  const before = await readCounts(page);
  expect(before.chunks.waiting).toBeGreaterThanOrEqual(2);
  expect(before.frames.waiting).toBeGreaterThanOrEqual(5);
  const storedBefore = storedFiles(suite.stack.mediaDir, sessionId);
  expect(storedBefore.audio.length).toBeLessThan(before.chunks.recorded);

  blackhole = false;
  await page.reload();
  await page.getByTestId('resumed').waitFor({ timeout: 15_000 });
  expect((await readCounts(page)).sessionId).toBe(sessionId);
  await waitFor(async () => {
    const c = await readCounts(page);
    return c.chunks.waiting === 0 && c.frames.waiting === 0 && c.chunks.recorded >= before.chunks.recorded;
  }, 30_000, 'recovered items uploaded');
  const storedAfterReload = storedFiles(suite.stack.mediaDir, sessionId);
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
