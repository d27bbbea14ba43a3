/**
 * @module frame-grabber
 * One JPEG from the live <video> preview via a <canvas>. Returns null while the video has no
 * picture yet (videoWidth 0) so the frame index is not consumed by an empty frame.
 *
 * `measureFrame` reads the frame the grabber just drew (no second camera capture) through a
 * tiny canvas, for the capture-health checks: mean luma and a grey signature (capture-health.ts
 * `frameStats`).
 */
import { frameStats, HEALTH_DEFAULTS, type FrameStats } from './capture-health.ts';

export async function grabJpeg(video: HTMLVideoElement, canvas: HTMLCanvasElement, quality = 0.8): Promise<Blob | null> {
  const w = video.videoWidth;
  const h = video.videoHeight;
  if (!w || !h) return null;
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const ctx = canvas.getContext('2d');
  if (!ctx) return null;
  ctx.drawImage(video, 0, 0, w, h);
  return new Promise((resolve) => canvas.toBlob((b) => resolve(b && b.size > 0 ? b : null), 'image/jpeg', quality));
}

let small: OffscreenCanvas | HTMLCanvasElement | null = null;

/** Mean luma and grey signature of what `canvas` holds, downscaled to the signature's size; null if it cannot be read. */
export function measureFrame(canvas: HTMLCanvasElement, width = HEALTH_DEFAULTS.signatureWidth, height = HEALTH_DEFAULTS.signatureHeight): FrameStats | null {
  try {
    small ??= typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(width, height) : document.createElement('canvas');
    if (small.width !== width) small.width = width;
    if (small.height !== height) small.height = height;
    const ctx = small.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null;
    if (!ctx) return null;
    ctx.imageSmoothingQuality = 'medium'; // averages neighbouring pixels: a signature of the picture, not of a few pixels' noise
    ctx.drawImage(canvas, 0, 0, width, height);
    return frameStats(ctx.getImageData(0, 0, width, height).data);
  } catch {
    return null;
  }
}
