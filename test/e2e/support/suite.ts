/**
 * @module suite
 * The fixture every browser test file shares: the real stack started as `npm start` starts it,
 * and headless Chromium whose fake microphone plays a known chirp. Registers the hooks and
 * returns an object whose fields are set once beforeAll has run.
 */
import { afterAll, beforeAll } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchBrowser } from './browser.ts';
import { DEFAULT_CHIRP, writeChirpWav, type Chirp } from './chirp.ts';
import { startStack, type Stack } from './stack.ts';

export interface BrowserSuite {
  stack: Stack;
  browser: Browser;
  /** The samples the fake microphone plays. */
  chirp: Float32Array;
}

/** `chirp`: the fake microphone's signal (default DEFAULT_CHIRP, looped by Chromium). */
export function browserSuite(chirp: Chirp = DEFAULT_CHIRP): BrowserSuite {
  const ctx = {} as BrowserSuite;
  beforeAll(async () => {
    const wav = join(mkdtempSync(join(tmpdir(), 'candid-chirp-')), 'chirp.wav');
    ctx.chirp = writeChirpWav(wav, chirp);
    [ctx.stack, ctx.browser] = await Promise.all([startStack(), launchBrowser(wav)]);
  }, 300_000);
  afterAll(async () => {
    await ctx.browser?.close();
    await ctx.stack?.stop();
  });
  return ctx;
}
