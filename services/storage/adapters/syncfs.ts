/**
 * @module syncfs
 * Group commit for the local-disk store: one syncfs(2) makes every file written and linked on the
 * filesystem so far durable, data and names, however many puts are waiting. It replaces a
 * fdatasync per file plus an fsync per folder; on the VMs we measured, kernel time per put fell
 * from 0.9-1.2 ms to 0.3-0.85 ms (docs/benchmarks.md).
 *
 * syncfs flushes the whole filesystem, including other programs' dirty data: give the media
 * folder its own volume in production (the Helm chart's PVC does). Linux only; where it is
 * unavailable (another OS, no FFI), `SyncfsWorker.start` returns null and the store falls back to
 * per-file fdatasync.
 */
import { DirSyncer } from "./fs-blob-store";

export class SyncfsWorker {
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextId = 1;
  /** Coalesces callers: those arriving while a syncfs runs share the next one. */
  private readonly syncer: DirSyncer;

  private constructor(
    private readonly worker: Worker,
    readonly path: string,
  ) {
    worker.onmessage = (ev: MessageEvent<{ id: number; ok: boolean }>) => {
      const p = this.pending.get(ev.data.id);
      if (!p) return;
      this.pending.delete(ev.data.id);
      if (ev.data.ok) p.resolve();
      else p.reject(new Error(`syncfs(${path}) failed`));
    };
    worker.onerror = () => {
      for (const p of this.pending.values()) p.reject(new Error("syncfs worker failed"));
      this.pending.clear();
    };
    this.syncer = new DirSyncer(path, () => {}, () => this.call());
  }

  /** A worker whose first syncfs of `path` succeeded, or null where syncfs is unavailable. */
  static async start(path: string): Promise<SyncfsWorker | null> {
    if (process.platform !== "linux") return null;
    let worker: Worker | undefined;
    try {
      worker = new Worker(new URL("./syncfs-worker.ts", import.meta.url).href);
      const w = new SyncfsWorker(worker, path);
      await Promise.race([w.call(), Bun.sleep(10_000).then(() => Promise.reject(new Error("syncfs timed out")))]);
      (worker as unknown as { unref?: () => void }).unref?.(); // never keeps the process alive
      return w;
    } catch {
      worker?.terminate();
      return null;
    }
  }

  /** Resolves once a syncfs that started after this call has completed. */
  sync(): Promise<void> {
    return this.syncer.sync();
  }

  /** How many syncfs calls were made (for tests). */
  get syncs(): number {
    return this.syncer.syncs;
  }

  terminate(): void {
    this.worker.terminate();
  }

  private call(): Promise<void> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, path: this.path });
    });
  }
}
