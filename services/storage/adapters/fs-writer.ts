/**
 * @module fs-writer
 * SyncfsDurability, the FsDurability strategy (fs-durability.ts) of the local-disk store on
 * Linux: group commit. A put writes its temp file at once, with
 * blocking calls on the event loop (create, write, close: tens of microseconds into the page
 * cache, cheaper than three thread-pool round trips), and joins the current batch. A batch is
 * made durable by two syncfs(2) calls, run on a worker thread: the first puts every temp file's
 * content on disk, then every put of the batch links its final name and removes its temp name,
 * and the second puts the names on disk. Puts written while a batch is in flight form the next
 * one, so its size follows the load (one put when idle, hundreds under load) and the flushes cost
 * two per batch instead of an fdatasync per file plus an fsync per folder.
 *
 * syncfs flushes the whole filesystem, including other programs' dirty data: give the media
 * folder its own volume in production (the Helm chart's PVC does). Where syncfs is unavailable
 * (another OS, no FFI), `SyncfsDurability.start` returns null and the store uses FsyncDurability.
 */
import { type FsDurability, type WriterPut, type Written, linkFinal, removeQuietly, writeTemp } from "./fs-durability";

/** A flush's answer: true, or the errno name of its failure ("ENOSPC", "EIO"...). */
type Flushed = true | string;

interface Job {
  put: WriterPut;
  resolve(r: Written): void;
  reject(e: Error): void;
}

const MAX_BATCH = 1024;

export class SyncfsDurability implements FsDurability {
  readonly mode = "syncfs";
  private queue: Job[] = [];
  private running = false;
  private closed = false;
  /** Resolves the flush in flight: true, or the errno name of its failure (fs-writer-worker.ts). */
  private flushed: ((r: Flushed) => void) | null = null;
  /** Batches committed (two syncfs calls each); for tests and metrics. */
  batches = 0;

  private constructor(private readonly worker: Worker) {
    worker.onmessage = (ev: MessageEvent<Flushed>) => this.onFlushed(ev.data === true ? true : String(ev.data));
    worker.onerror = () => this.onFlushed("EIO");
  }

  /** A writer whose first syncfs of `root` succeeded, or null where syncfs is unavailable. */
  static async start(root: string): Promise<SyncfsDurability | null> {
    if (process.platform !== "linux") return null;
    let worker: Worker | undefined;
    try {
      worker = new Worker(new URL("./fs-writer-worker.ts", import.meta.url).href);
      const w = new SyncfsDurability(worker);
      const ok = await Promise.race([w.flush({ root }), Bun.sleep(10_000).then(() => "ETIMEDOUT")]);
      if (ok !== true) throw new Error("syncfs unavailable");
      (worker as unknown as { unref?: () => void }).unref?.(); // never keeps the process alive
      return w;
    } catch {
      worker?.terminate();
      return null;
    }
  }

  /**
   * Writes `data` to `temp` now, then links it as `final` in the next batch; resolves once both
   * are durable. "exists" when `final` was already taken (the temp file is removed either way).
   */
  write(put: WriterPut): Promise<Written> {
    if (this.closed) return Promise.reject(stopped());
    writeTemp(put);
    return new Promise((resolve, reject) => {
      this.queue.push({ put, resolve, reject });
      if (!this.running) void this.run();
    });
  }

  close(): void {
    this.closed = true;
    this.worker.terminate();
    this.onFlushed("EIO");
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.queue.length && !this.closed) {
      const jobs = this.queue.splice(0, MAX_BATCH);
      this.batches++;
      const results: (Written | Error)[] = [];
      const content = await this.flush(null);
      if (content === true) {
        for (const { put } of jobs) results.push(linkFinal(put));
        const names = await this.flush(null);
        if (names !== true) results.fill(flushFailed(names));
      } else {
        for (const { put } of jobs) removeQuietly(put.temp);
        results.push(...jobs.map(() => flushFailed(content)));
      }
      jobs.forEach((job, i) => {
        const r = results[i]!;
        if (r instanceof Error) job.reject(r);
        else job.resolve(r);
      });
    }
    for (const job of this.queue.splice(0)) job.reject(stopped());
    this.running = false;
  }

  /** One syncfs on the worker (the first message also names the root). */
  private flush(msg: { root: string } | null): Promise<Flushed> {
    return new Promise((resolve) => {
      this.flushed = resolve;
      this.worker.postMessage(msg);
    });
  }

  private onFlushed(r: Flushed): void {
    const f = this.flushed;
    this.flushed = null;
    f?.(r);
  }
}

function stopped(): Error {
  return Object.assign(new Error("storage writer stopped"), { code: "EIO" });
}

/**
 * The batch could not be made durable: none of its puts may be answered as stored. The error
 * carries syncfs's errno (ENOSPC / EDQUOT become STORAGE_FULL in fs-blob-store.ts).
 */
function flushFailed(errno: string): Error {
  return Object.assign(new Error(`syncfs failed: ${errno}`), { code: errno });
}
