/**
 * @module flow
 * What a candidate does, as test steps: open the home page, begin the interview, press Start;
 * and the checks every e2e test shares on what ended up stored.
 */
import { expect } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { chunkSpan, decodePcm, ffprobe, ringDelta } from './audio.ts';
import type { Chirp } from './chirp.ts';
import { readCounts, waitFor } from './browser.ts';
import { storedFiles, type Stack } from './stack.ts';

/** Home → "Begin interview" → interview page → "Start" (two clicks). Returns the session id. */
export async function beginAndStart(page: Page, stack: Stack, query = ''): Promise<string> {
  await page.goto(`${stack.webUrl}/${query ? `?${query}` : ''}`);
  await page.getByRole('button', { name: /begin interview/i }).click();
  await page.waitForURL(/\/interview\?/);
  await waitFor(() => page.evaluate(() => (document.querySelector('video')?.videoWidth ?? 0) > 0), 15_000, 'camera preview');
  const start = page.getByRole('button', { name: /start/i });
  await waitFor(() => start.isEnabled(), 10_000, 'Start enabled');
  await start.click();
  await page.getByText('Recording — speak normally').waitFor({ timeout: 10_000 });
  return (await readCounts(page)).sessionId;
}

export async function stopAndWaitComplete(page: Page): Promise<void> {
  await page.getByRole('button', { name: /stop/i }).click();
  await page.getByTestId('complete').waitFor({ timeout: 60_000 });
}

/** Every chunk decodes on its own; returns the gap (+) / overlap (−) in ms between consecutive chunks. */
export async function checkAudio(stack: Stack, sessionId: string, chirp: Float32Array, c: Chirp) {
  const { audio } = storedFiles(stack.mediaDir, sessionId);
  const spans = [];
  const sizes: number[] = [];
  for (const f of audio) {
    const path = join(stack.mediaDir, sessionId, 'audio', f);
    const probe = await ffprobe(path);
    expect(probe.ok, `${f}: ${probe.stderr}`).toBe(true);
    expect(probe.codec).toBe('opus');
    const pcm = await decodePcm(path, c.sampleRate);
    spans.push(chunkSpan(pcm, chirp, c));
    sizes.push(readFileSync(path).length);
  }
  const deltasMs: number[] = [];
  for (let k = 0; k + 1 < spans.length; k++) {
    const a = spans[k]!;
    const b = spans[k + 1]!;
    expect(Math.min(a.tailScore, b.headScore), `chunk ${k}/${k + 1} correlation`).toBeGreaterThan(0.9);
    deltasMs.push((ringDelta(a.end, b.start, chirp.length) / c.sampleRate) * 1000);
  }
  return { files: audio, sizes, deltasMs, spans };
}

export function checkFrames(stack: Stack, sessionId: string) {
  const { frames } = storedFiles(stack.mediaDir, sessionId);
  for (const f of frames) {
    const b = readFileSync(join(stack.mediaDir, sessionId, 'frames', f));
    expect([b[0], b[1], b[2]], `${f} is a JPEG`).toEqual([0xff, 0xd8, 0xff]);
  }
  return frames;
}

/** Files on disk are exactly indices 0..n-1 (each stored once, none missing). */
export function expectContiguous(names: string[], n: number) {
  expect(names.map((f) => Number(f.match(/\d+/)![0]))).toEqual(Array.from({ length: n }, (_, i) => i));
}
