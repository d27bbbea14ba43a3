/**
 * @module frame-grabber
 * One JPEG from the live <video> preview via a <canvas>. Returns null while the video has no
 * picture yet (videoWidth 0) so the frame index is not consumed by an empty frame.
 */
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
