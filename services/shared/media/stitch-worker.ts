/**
 * @module shared/media/stitch-worker
 * Runs stitch-session.ts in worker threads, so decoding and encoding (seconds of CPU for a long
 * interview) never run on the caller's event loop. Requests go to the least busy worker; a worker
 * that dies fails its requests and is replaced.
 */
import { AppError } from "../errors";
import type { SessionChunk, StitchedSession } from "./stitch-session";

export interface Stitcher {
  stitch(chunks: SessionChunk[], range: { first: number; last: number }): Promise<StitchedSession>;
  close(): void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve(r: StitchedSession): void; reject(e: unknown): void }>;
}

export function createStitcher(opts: { workers: number }): Stitcher {
  let nextId = 1;
  let closed = false;
  const slots: Slot[] = [];
  const spawn = (): Slot => {
    const slot: Slot = { worker: new Worker(new URL("./stitch-thread.ts", import.meta.url).href), pending: new Map() };
    slot.worker.onmessage = (e: MessageEvent<{ id: number; ok: boolean; result?: StitchedSession; message?: string }>) => {
      const p = slot.pending.get(e.data.id);
      if (!p) return;
      slot.pending.delete(e.data.id);
      if (e.data.ok) p.resolve(e.data.result!);
      else p.reject(new AppError("INTERNAL", `stitching failed: ${e.data.message}`));
    };
    slot.worker.onerror = (e) => {
      for (const p of slot.pending.values()) p.reject(new AppError("INTERNAL", `the stitch worker died: ${e.message}`));
      slot.pending.clear();
      slot.worker.terminate();
      const i = slots.indexOf(slot);
      if (i >= 0 && !closed) slots[i] = spawn();
    };
    // Idle workers must not keep the process alive.
    (slot.worker as unknown as { unref?: () => void }).unref?.();
    return slot;
  };
  const ensure = () => {
    while (slots.length < Math.max(1, opts.workers)) slots.push(spawn());
  };
  return {
    stitch(chunks, range) {
      if (closed) return Promise.reject(new AppError("UPSTREAM_UNAVAILABLE", "shutting down"));
      ensure();
      const slot = slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        slot.pending.set(id, { resolve, reject });
        slot.worker.postMessage({ id, chunks, range });
      });
    },
    close() {
      closed = true;
      for (const s of slots) {
        for (const p of s.pending.values()) p.reject(new AppError("UPSTREAM_UNAVAILABLE", "shutting down"));
        s.worker.terminate();
      }
      slots.length = 0;
    },
  };
}
