/**
 * Records through the UI with short intervals against the real suite.stack (`npm start`), then checks
 * what the backend stored: standalone decodable chunks with no gap in the known signal, JPEG
 * frames at the right cadence, and the page's counts equal to the status endpoint.
 */
import { expect, test } from 'bun:test';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { captureLog, readCounts, waitFor } from './support/browser.ts';
import { SWEEP } from './support/chirp.ts';
import { beginAndStart, checkAudio, checkFrames, expectContiguous, stopAndWaitComplete } from './support/flow.ts';
import { browserSuite } from './support/suite.ts';

const suite = browserSuite(SWEEP);

test('records through the UI: standalone gapless chunks, JPEG frames on cadence, counts match the backend', async () => {
  const chunkMs = 2000;
  const frameMs = 500;
  const page = await suite.browser.newPage({ viewport: { width: 1100, height: 720 } });
  const t0 = Date.now();
  const sessionId = await beginAndStart(page, suite.stack, `chunkMs=${chunkMs}&frameMs=${frameMs}`);
  await Bun.sleep(9_000);
  const shot = process.env.CANDID_SCREENSHOT;
  if (shot) {
    mkdirSync(dirname(resolve(shot)), { recursive: true });
    await page.screenshot({ path: resolve(shot) });
  }
  await stopAndWaitComplete(page);
  const elapsed = Date.now() - t0;

  const counts = await readCounts(page);
  const status = await suite.stack.status(sessionId);
  expect(counts.chunks.waiting).toBe(0);
  expect(counts.frames.waiting).toBe(0);
  expect(counts.chunks.acked).toBe(counts.chunks.recorded);
  expect(counts.frames.acked).toBe(counts.frames.recorded);
  expect(status).toMatchObject({ total_chunks: counts.chunks.recorded, total_frames: counts.frames.recorded });
  expect(status!.status).toBe('completed');
  expect(counts.chunks.recorded).toBeGreaterThanOrEqual(4);

  const audio = await checkAudio(suite.stack, sessionId, suite.chirp, SWEEP);
  expectContiguous(audio.files, counts.chunks.recorded);
  for (const d of audio.deltasMs) expect(d).toBeLessThanOrEqual(2); // > 0 would be lost audio

  const frames = checkFrames(suite.stack, sessionId);
  expectContiguous(frames, counts.frames.recorded);
  const log = await captureLog(page);
  const gaps = log.frames.slice(1).map((f, i) => f.wallMs - log.frames[i]!.wallMs);
  // all but the final flush frame follow the grid
  for (const g of gaps.slice(0, -1)) expect(Math.abs(g - frameMs)).toBeLessThan(150);
  for (const f of log.frames) expect(f.offsetMs).toBeLessThanOrEqual(chunkMs + 150);
  const tsOverlap = log.chunks.slice(1).map((c, i) => log.chunks[i]!.endWallMs - c.startWallMs);
  const stopOverlap = log.chunks.slice(1).map((c, i) => log.chunks[i]!.stopWallMs - c.startWallMs);
  // The recorded timestamps predict the overlap the audio really has (what a gapless rebuild trims).
  // Chunk 0 follows a throwaway warm-up recorder (AudioChunker.warmUp); without it the page's first
  // recorder starts 25-65 ms late. With it, boundary 0 measured 2-28 ms off in 3 runs, the later
  // boundaries up to 21 ms: 40 ms and 30 ms leave room for a loaded 2-core machine.
  tsOverlap.forEach((o, i) => expect(Math.abs(o + audio.deltasMs[i]!)).toBeLessThan(i === 0 ? 40 : 30));

  console.log(
    JSON.stringify({
      test: 'capture',
      elapsedMs: elapsed,
      chunks: counts.chunks.recorded,
      frames: counts.frames.recorded,
      chunkBytes: audio.sizes,
      measuredBoundaryMs: audio.deltasMs.map((d) => +d.toFixed(2)),
      timestampOverlapMs: tsOverlap.map((d) => +d.toFixed(1)),
      recorderOverlapMs: stopOverlap.map((d) => +d.toFixed(1)),
      frameGapsMs: gaps.map(Math.round),
    }),
  );
  await page.close();
}, 120_000);

test('production settings (10 s chunks, 2 s frames): sizes, gapless boundaries, cadence', async () => {
  const page = await suite.browser.newPage();
  const t0 = Date.now();
  const sessionId = await beginAndStart(page, suite.stack); // no overrides: 10 000 / 2000 ms, 32 kbps
  await Bun.sleep(31_000);
  await stopAndWaitComplete(page);
  const counts = await readCounts(page);
  expect(counts.chunks.recorded).toBe(4); // three full chunks + the flushed partial one
  expect(counts.chunks.acked).toBe(4);
  const status = await suite.stack.status(sessionId);
  expect(status).toMatchObject({ status: 'completed', total_chunks: counts.chunks.recorded, total_frames: counts.frames.recorded });
  const audio = await checkAudio(suite.stack, sessionId, suite.chirp, SWEEP);
  expectContiguous(audio.files, 4);
  for (const d of audio.deltasMs) expect(d).toBeLessThanOrEqual(2);
  // 32 kbps Opus: ~40 KB per full 10 s chunk
  for (const s of audio.sizes.slice(0, 3)) expect(s).toBeGreaterThan(25_000), expect(s).toBeLessThan(60_000);
  const log = await captureLog(page);
  for (const c of log.chunks.slice(0, 3)) expect(Math.abs(c.stopWallMs - c.startWallMs - 10_000)).toBeLessThan(200);
  const frames = checkFrames(suite.stack, sessionId);
  expect(frames.length).toBeGreaterThanOrEqual(16);
  const gaps = log.frames.slice(1).map((f, i) => f.wallMs - log.frames[i]!.wallMs);
  for (const g of gaps.slice(0, -1)) expect(Math.abs(g - 2000)).toBeLessThan(150);
  // Each frame lies inside the chunk it names, at the offset it names.
  for (const f of log.frames) {
    const c = log.chunks.find((x) => x.index === f.chunkIndex)!;
    expect(f.wallMs).toBeGreaterThanOrEqual(c.startWallMs - 1);
    expect(f.wallMs).toBeLessThanOrEqual(c.stopWallMs + 1);
    expect(Math.abs(f.offsetMs - (f.wallMs - c.startWallMs))).toBeLessThanOrEqual(1);
  }
  console.log(
    JSON.stringify({
      test: 'production-10s',
      elapsedMs: Date.now() - t0,
      chunkBytes: audio.sizes,
      chunkDurationsMs: log.chunks.map((c) => Math.round(c.endWallMs - c.startWallMs)),
      measuredBoundaryMs: audio.deltasMs.map((d) => +d.toFixed(2)),
      frames: frames.length,
      frameBytes: log.frames.map((f) => f.size),
    }),
  );
  await page.close();
}, 120_000);

test('the browser never holds the API key or a server secret; session_init carries an upload token', async () => {
  const s = suite.stack.secrets();
  const secrets = [...s.apiKeys.split(','), ...s.tokenSecrets.split(','), s.internalToken].map((x) => x.trim()).filter(Boolean);
  expect(secrets.length).toBeGreaterThanOrEqual(3);
  const page = await suite.browser.newPage();
  const sentText: string[] = [];
  page.on('websocket', (ws) => ws.on('framesent', (f) => typeof f.payload === 'string' && sentText.push(f.payload)));
  const responses: Promise<string>[] = [];
  page.on('response', (r) => responses.push(r.body().then((b) => b.toString('latin1'), () => '')));

  const sessionId = await beginAndStart(page, suite.stack, 'chunkMs=1000&frameMs=500');
  await waitFor(async () => (await readCounts(page)).chunks.acked >= 1, 20_000, 'a chunk acked');
  const interviewId = Number(new URL(page.url()).searchParams.get('interview'));
  expect(interviewId).toBeGreaterThan(0);

  // Everything the page was given or keeps: its HTML, every script it loaded (fetched again), every
  // HTTP answer it got (the /api/interviews grant included), window's globals, Web Storage, IndexedDB.
  const scripts = await page.evaluate(() => [
    ...new Set([
      ...[...document.scripts].map((e) => e.src).filter(Boolean),
      ...performance.getEntriesByType('resource').map((e) => e.name).filter((n) => /\.m?js(\?|$)/.test(n)),
    ]),
  ]);
  expect(scripts.length).toBeGreaterThan(0);
  const kept = await page.evaluate(async () => {
    const out: string[] = [];
    for (const k of Object.getOwnPropertyNames(window)) {
      try {
        const v = (window as unknown as Record<string, unknown>)[k];
        if (typeof v === 'string') out.push(v);
        else if (k.startsWith('__') && v && typeof v === 'object') out.push(JSON.stringify(v));
      } catch {
        /* a getter that throws */
      }
    }
    out.push(JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage }));
    const db = await new Promise<IDBDatabase>((res, rej) => {
      const r = indexedDB.open('candid-capture');
      r.onsuccess = () => res(r.result);
      r.onerror = () => rej(r.error);
    });
    const sessions: Array<{ sessionId: string; token?: string }> = [];
    for (const name of [...db.objectStoreNames]) {
      const all = await new Promise<unknown[]>((res) => {
        const r = db.transaction(name).objectStore(name).getAll();
        r.onsuccess = () => res(r.result);
      });
      out.push(JSON.stringify(all, (_k, v) => (v instanceof Blob ? `blob:${v.size}` : v)));
      if (name === 'sessions') sessions.push(...(all as typeof sessions));
    }
    db.close();
    return { text: out.join('\n'), sessions };
  });
  const texts = [await page.content(), kept.text, ...(await Promise.all(responses))];
  for (const u of scripts) texts.push(await (await fetch(u)).text());
  for (const [i, t] of texts.entries()) for (const [j, secret] of secrets.entries()) expect(t.includes(secret), `text ${i} holds secret ${j}`).toBe(false);

  // session_init carries an upload token for this interview and the demo candidate (user 1) ...
  const inits = sentText.flatMap((t) => {
    try {
      const m = JSON.parse(t) as { type?: string; token?: unknown };
      return m.type === 'session_init' ? [m] : [];
    } catch {
      return [];
    }
  });
  expect(inits.length).toBeGreaterThanOrEqual(1);
  for (const m of inits) {
    expect(typeof m.token).toBe('string');
    const claims = JSON.parse(Buffer.from(String(m.token).split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: 'candid', aud: 'candid-upload', interview_session_id: interviewId, user_id: 1 });
  }
  // ... and the same token is kept with the session record, for a reload or an orphan upload
  // (which also shows the scan above read the page's real storage).
  expect(kept.sessions.find((r) => r.sessionId === sessionId)?.token).toBe(inits[0]!.token as string);
  expect(kept.text.includes(inits[0]!.token as string)).toBe(true);

  await stopAndWaitComplete(page);
  expect(await suite.stack.status(sessionId)).toMatchObject({ status: 'completed' });
  await page.close();
}, 120_000);

test('every page renders on a direct load (server-side rendering)', async () => {
  for (const p of ['/', '/check', '/interview', '/interview?interview=1']) {
    const r = await fetch(`${suite.stack.webUrl}${p}`);
    expect(r.status, p).toBe(200);
  }
  const health = await fetch(`${suite.stack.webUrl}/healthz`);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ status: 'ok' });
});

test('a denied camera/microphone permission shows a clear message', async () => {
  const page = await suite.browser.newPage();
  await page.addInitScript(() => {
    navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('denied', 'NotAllowedError'));
  });
  await page.goto(`${suite.stack.webUrl}/check`);
  const alert = page.getByTestId('device-problem');
  await alert.waitFor({ timeout: 10_000 });
  expect(await alert.innerText()).toContain('access was denied');
  expect(await page.getByRole('button', { name: /begin interview/i }).isDisabled()).toBe(true);
  await page.close();
});
