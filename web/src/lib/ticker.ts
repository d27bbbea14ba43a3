/**
 * @module ticker
 * A steady tick for the capture schedule. Timers on a hidden tab's main thread are throttled to
 * 1/s (and to 1/min after minutes hidden), which would stretch chunk boundaries; a dedicated
 * worker's timers are not throttled that way, so the tick comes from a tiny worker, falling back
 * to setInterval where workers cannot be created (e.g. a strict CSP).
 */
export function startTicker(periodMs: number, onTick: () => void): () => void {
  try {
    const src = `setInterval(() => postMessage(0), ${Math.max(5, Math.floor(periodMs))});`;
    const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
    const w = new Worker(url);
    w.onmessage = () => onTick();
    return () => {
      w.terminate();
      URL.revokeObjectURL(url);
    };
  } catch {
    const t = setInterval(onTick, periodMs);
    return () => clearInterval(t);
  }
}

/** Wall-clock now in ms with sub-ms precision and no NTP jumps during a session. */
export const wallNow = () => performance.timeOrigin + performance.now();
