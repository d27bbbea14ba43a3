/**
 * @module shared/media/stitch-thread
 * The worker thread's side of stitch-worker.ts: one request at a time, the track transferred back.
 */
import { stitchSession, type SessionChunk } from "./stitch-session";

declare const self: Worker;

self.onmessage = async (e: MessageEvent<{ id: number; chunks: SessionChunk[]; range: { first: number; last: number } }>) => {
  const { id, chunks, range } = e.data;
  try {
    const r = await stitchSession(chunks, range);
    self.postMessage({ id, ok: true, result: r }, [r.ogg.buffer as ArrayBuffer]);
  } catch (err) {
    self.postMessage({ id, ok: false, message: err instanceof Error ? err.message : String(err) });
  }
};
