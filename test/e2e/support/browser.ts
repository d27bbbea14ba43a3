/**
 * @module browser
 * Headless Debian Chromium through playwright-core, with fake camera and a fake microphone that
 * plays a known WAV (see chirp.ts). Flags as measured in /work/shared/TOOLCHAIN-NOTES.md.
 */
import { chromium, type Browser, type Page } from 'playwright-core';

/** `extraArgs`: more Chromium flags, e.g. `--use-file-for-fake-video-capture=F.y4m` for a known picture. */
export async function launchBrowser(fakeAudioWav: string, extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      `--use-file-for-fake-audio-capture=${fakeAudioWav}`,
      '--autoplay-policy=no-user-gesture-required',
      ...extraArgs,
    ],
  });
}

/** Text of the interview page's status table, as numbers. */
export async function readCounts(page: Page) {
  const row = async (id: string) => {
    const cells = await page.locator(`[data-testid=${id}] td`).allTextContents();
    const [recorded, acked, waiting, failed] = cells.map(Number);
    return { recorded: recorded!, acked: acked!, waiting: waiting!, failed: failed! };
  };
  return {
    chunks: await row('chunks'),
    frames: await row('frames'),
    connection: (await page.getByTestId('connection').textContent())?.trim(),
    reconnects: Number(await page.getByTestId('reconnects').textContent()),
    sessionId: (await page.getByTestId('session-id').textContent())?.trim() ?? '',
  };
}

export interface PageCaptureLog {
  chunks: Array<{ index: number; startWallMs: number; endWallMs: number; stopWallMs: number; size: number; type: string }>;
  frames: Array<{ index: number; chunkIndex: number; wallMs: number; offsetMs: number; size: number }>;
}

export function captureLog(page: Page): Promise<PageCaptureLog> {
  return page.evaluate(() => (window as unknown as { __candidCapture: PageCaptureLog }).__candidCapture);
}

export async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
