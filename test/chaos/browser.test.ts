/**
 * Chaos with the real browser: headless Chromium on the interview page of the whole product as
 * `npm start` runs it (test/e2e/support/stack.ts: the launcher, the SvelteKit app, metadata on a
 * fresh PostgreSQL database so the rows can be read), recording with the production settings
 * (the page's defaults: 10 s audio chunks, a frame every 2 s; no chunkMs / frameMs override).
 * The page reaches the gateway through toxiproxy (PUBLIC_GATEWAY_URL = the proxy's listen port; the
 * page's origin is the web app's, which the launcher allows by default; the web app's server side,
 * which creates interviews and mints tokens, goes direct). Both cases share one stack.
 *
 *   browser-net      one recording of ~45 s with, in sequence: latency, a bandwidth limit,
 *                    reset_peer, and a cut (proxy disabled for 5 s)
 *   browser-offline  Playwright `context.setOffline(true)` for 60 s while recording: the page
 *                    shows the network warning, the outbox holds (waiting grows, nothing is
 *                    acked), then after `setOffline(false)` it drains. setOffline alone is the
 *                    fault (the proxy stays up): in this Chromium the socket already open still
 *                    reads "open" but no ack comes over it (older Chromium kept open sockets
 *                    working, microsoft/playwright#4910: hence the assertion that acks stop),
 *                    the client's ack timeout then drops it and new connections fail offline.
 *
 * The end check, from the sources of truth (rows in PostgreSQL, files on disk) after the reaper's
 * orphan sweeper ran (./support/verify.ts sweepOrphans). The browser's bytes are not known to the
 * test, so "equal SHA-256" is checked as: each of the N items the page recorded (its counts) is
 * stored exactly once — one row and one file, indices contiguous 0..N-1 per kind, N equal to the
 * page's recorded count — and the row's sha256 equals the SHA-256 of the file on disk (the
 * gateway's digest of what it received, then the bytes that were kept). The session is completed
 * on the server with those totals; no row lacks its file; no orphan is left.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { freePort, TEST_INTERNAL_TOKEN } from '../support/procs';
import { launchBrowser, readCounts, waitFor } from '../e2e/support/browser';
import { writeChirpWav } from '../e2e/support/chirp';
import { beginAndStart, stopAndWaitComplete } from '../e2e/support/flow';
import { type Stack, startStack } from '../e2e/support/stack';
import { type Proxy, startToxiproxy, type Toxic, type Toxiproxy } from './support/toxiproxy';
import { blobKeyOf, CHAOS_STORAGE_ENV, fsStoreView, rowsOf, sweepOrphans } from './support/verify';

let stack: Stack;
let db: TestDatabase;
let toxi: Toxiproxy;
let proxy: Proxy;
let browser: Browser;
let wavDir: string;

beforeAll(async () => {
  wavDir = mkdtempSync(join(tmpdir(), 'candid-chirp-'));
  const wav = join(wavDir, 'chirp.wav');
  writeChirpWav(wav);
  [db, toxi, browser] = await Promise.all([createTestDatabase('candid_bchaos'), startToxiproxy(), launchBrowser(wav)]);
  // The page's gateway URL is the proxy's port, chosen before the gateway's is known.
  const listen = `127.0.0.1:${await freePort()}`;
  stack = await startStack({
    env: {
      PUBLIC_GATEWAY_URL: `http://${listen}`,
      DATABASE_URL: db.url,
      CANDID_INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
      LOG_LEVEL: 'error',
      ...CHAOS_STORAGE_ENV,
    },
  });
  proxy = await toxi.createProxy('browser-gateway', new URL(stack.gatewayUrl).host, listen);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  await toxi?.stop();
  await db?.drop();
  if (wavDir) rmSync(wavDir, { recursive: true, force: true });
});

interface BrowserCounts {
  recorded: number;
  acked: number;
  lost: number;
  storedOnce: number;
  shaMismatch: number;
  rowsWithoutBlob: number;
  orphans: number;
  problems: string[];
}

/** The end check of one browser session against the page's final counts (see the header). */
async function verifyBrowserSession(sessionId: string, page: Awaited<ReturnType<typeof readCounts>>): Promise<BrowserCounts> {
  const orphans = await sweepOrphans({ storageAddr: stack.storageAddr, metadataAddr: stack.metadataAddr, storageMetricsUrl: stack.storageMetricsUrl, mediaDir: stack.mediaDir, db }, [sessionId]);
  const rows = await rowsOf(db.url, [sessionId]);
  const store = fsStoreView(stack.mediaDir);
  const keys = new Set((await store.list()).filter((k) => k.startsWith(`${sessionId}/`)));
  const problems: string[] = [];
  let storedOnce = 0;
  let shaMismatch = 0;
  const recorded = { audio: page.chunks.recorded, frame: page.frames.recorded } as const;
  for (const kind of ['audio', 'frame'] as const) {
    for (let i = 0; i < recorded[kind]; i++) {
      const key = blobKeyOf(sessionId, kind, i);
      const its = rows.filter((r) => r.kind === kind && r.index === i);
      const fileSha = keys.has(key) ? await store.sha256(key) : null;
      if (fileSha && its.some((r) => r.sha256 !== fileSha)) {
        shaMismatch++;
        problems.push(`${key}: row sha ${its.map((r) => r.sha256.slice(0, 8))} != file ${fileSha.slice(0, 8)}`);
      }
      if (its.length === 1 && fileSha !== null && its[0]!.sha256 === fileSha && its[0]!.filePath.endsWith(key)) storedOnce++;
      else problems.push(`${key}: ${its.length} rows, file ${fileSha ? 'present' : 'missing'}`);
    }
  }
  // Nothing beyond what the page recorded (indices are contiguous 0..N-1 per kind).
  for (const r of rows) if (r.index >= recorded[r.kind]) problems.push(`${blobKeyOf(sessionId, r.kind, r.index)}: row beyond the page's recorded count`);
  const rowsWithoutBlob = rows.filter((r) => !keys.has(blobKeyOf(sessionId, r.kind, r.index))).length;
  if (rowsWithoutBlob) problems.push(`${rowsWithoutBlob} rows without their file`);
  for (const k of [...orphans.blobs, ...orphans.temps]) problems.push(`${k}: orphan left after the sweep`);
  const status = await stack.status(sessionId);
  if (status?.status !== 'completed' || status.total_chunks !== recorded.audio || status.total_frames !== recorded.frame) {
    problems.push(`server session ${JSON.stringify(status)} (page recorded ${recorded.audio} chunks, ${recorded.frame} frames)`);
  }
  const total = recorded.audio + recorded.frame;
  const acked = page.chunks.acked + page.frames.acked;
  // The page's counts do not say which items were acked; every one of them must be, and then an
  // item not stored once is an acked item lost.
  return { recorded: total, acked, lost: Math.max(0, acked - storedOnce), storedOnce, shaMismatch, rowsWithoutBlob, orphans: orphans.blobs.length + orphans.temps.length, problems };
}

function report(name: string, c: BrowserCounts, extra: Record<string, unknown>) {
  console.log(
    `chaos browser-${name}: recorded=${c.recorded} acked=${c.acked} lost=${c.lost} stored_once=${c.storedOnce} sha_mismatch=${c.shaMismatch} rows_without_blob=${c.rowsWithoutBlob} orphans_left=${c.orphans}`,
  );
  if (c.problems.length) console.log(`chaos browser-${name} details:\n  ${c.problems.slice(0, 30).join('\n  ')}`);
  console.log(JSON.stringify({ case: `browser-${name}`, ...extra }));
}

function expectZeroLoss(c: BrowserCounts) {
  expect({ problems: c.problems, acked: c.acked, lost: c.lost, storedOnce: c.storedOnce, shaMismatch: c.shaMismatch, rowsWithoutBlob: c.rowsWithoutBlob, orphans: c.orphans }).toEqual({
    problems: [],
    acked: c.recorded,
    lost: 0,
    storedOnce: c.recorded,
    shaMismatch: 0,
    rowsWithoutBlob: 0,
    orphans: 0,
  });
  expect(c.recorded).toBeGreaterThan(0);
}

const acksOf = async (page: Page) => {
  const c = await readCounts(page);
  return c.chunks.acked + c.frames.acked;
};

describe('chaos: the real browser', () => {
  test('browser-net: latency, bandwidth, reset_peer and a cut between the page and the gateway', async () => {
    const ctx: BrowserContext = await browser.newContext();
    const page = await ctx.newPage();
    const t0 = Date.now();
    const sessionId = await beginAndStart(page, stack);
    const phases: Array<{ fault: string; atMs: number; acksBefore: number }> = [];
    const during = async (fault: string, toxics: Toxic[], forMs: number) => {
      phases.push({ fault, atMs: Date.now() - t0, acksBefore: await acksOf(page) });
      for (const t of toxics) await proxy.addToxic(t);
      await Bun.sleep(forMs);
      for (const t of toxics) await proxy.removeToxic(t.name);
      await Bun.sleep(1000);
    };
    try {
      await waitFor(async () => (await acksOf(page)) >= 2, 15_000, 'first acks');
      await during(
        'latency',
        [
          { name: 'lat_down', type: 'latency', stream: 'downstream', attributes: { latency: 300, jitter: 200 } },
          { name: 'lat_up', type: 'latency', stream: 'upstream', attributes: { latency: 300, jitter: 200 } },
        ],
        6000,
      );
      // 8 KB/s towards the gateway: a 10 s chunk and the frames queue behind it.
      await during('bandwidth', [{ name: 'bw_up', type: 'bandwidth', stream: 'upstream', attributes: { rate: 8 } }], 8000);
      await during('reset_peer', [{ name: 'reset', type: 'reset_peer', stream: 'upstream', attributes: { timeout: 300 } }], 4000);
      phases.push({ fault: 'cut', atMs: Date.now() - t0, acksBefore: await acksOf(page) });
      await proxy.setEnabled(false);
      await Bun.sleep(5000);
      await proxy.setEnabled(true);
      // Recording goes on after the faults, until ~45 s in all.
      await Bun.sleep(Math.max(5000, 45_000 - (Date.now() - t0)));
      await stopAndWaitComplete(page);
      const after = await readCounts(page);
      expect(after.reconnects).toBeGreaterThanOrEqual(1);
      expect(after.chunks).toMatchObject({ waiting: 0, failed: 0 });
      expect(after.frames).toMatchObject({ waiting: 0, failed: 0 });
      const c = await verifyBrowserSession(sessionId, after);
      report('net', c, { elapsedMs: Date.now() - t0, reconnects: after.reconnects, chunks: after.chunks.recorded, frames: after.frames.recorded, phases });
      expectZeroLoss(c);
    } finally {
      await proxy.setEnabled(true).catch(() => {});
      await ctx.close();
    }
  }, 150_000);

  test('browser-offline: 60 s offline while recording, the outbox holds, then drains', async () => {
    const ctx: BrowserContext = await browser.newContext();
    const page = await ctx.newPage();
    const t0 = Date.now();
    const sessionId = await beginAndStart(page, stack);
    try {
      await waitFor(async () => (await acksOf(page)) >= 2, 15_000, 'first acks');
      const offlineAt = Date.now();
      await ctx.setOffline(true);
      await page.getByTestId('network-warning').waitFor({ timeout: 10_000 });
      const warnedAfterMs = Date.now() - offlineAt;
      // Let what was in flight settle, then the outbox must only grow.
      await Bun.sleep(3000);
      const held = await readCounts(page);
      await Bun.sleep(Math.max(0, 60_000 - (Date.now() - offlineAt)));
      const end = await readCounts(page);
      // Still shown, nothing acked while offline, the outbox grew.
      expect(await page.getByTestId('network-warning').isVisible()).toBe(true);
      expect(end.chunks.acked + end.frames.acked).toBe(held.chunks.acked + held.frames.acked);
      const waitingHeld = held.chunks.waiting + held.frames.waiting;
      const waitingEnd = end.chunks.waiting + end.frames.waiting;
      expect(waitingEnd).toBeGreaterThanOrEqual(waitingHeld + 20);
      expect(end.chunks.waiting).toBeGreaterThanOrEqual(4);

      await ctx.setOffline(false);
      const onlineAt = Date.now();
      await waitFor(
        async () => {
          const c = await readCounts(page);
          return c.connection === 'open' && c.chunks.waiting === 0 && c.frames.waiting === 0;
        },
        60_000,
        'outbox drained',
      );
      const drainedAfterMs = Date.now() - onlineAt;
      await page.getByTestId('network-warning').waitFor({ state: 'detached', timeout: 10_000 });
      await Bun.sleep(3000);
      await stopAndWaitComplete(page);
      const after = await readCounts(page);
      expect(after.chunks).toMatchObject({ waiting: 0, failed: 0 });
      expect(after.frames).toMatchObject({ waiting: 0, failed: 0 });
      const c = await verifyBrowserSession(sessionId, after);
      report('offline', c, {
        elapsedMs: Date.now() - t0,
        warnedAfterMs,
        connectionAfter3sOffline: held.connection,
        waitingAfter3sOffline: waitingHeld,
        waitingAfter60s: waitingEnd,
        drainedAfterMs,
        reconnects: after.reconnects,
        chunks: after.chunks.recorded,
        frames: after.frames.recorded,
      });
      expectZeroLoss(c);
    } finally {
      await ctx.setOffline(false).catch(() => {});
      await ctx.close();
    }
  }, 150_000);
});
