/**
 * @module fs-writer
 * Group commit for the local-disk store on Linux. A put writes its temp file at once, with
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
 * (another OS, no FFI), `FsWriter.start` returns null and the store fdatasyncs each file.
 */
import { closeSync, linkSync, mkdirSync, openSync, unlinkSync, writeSync } from "node:fs";

export interface WriterPut {
  dir: string;
  temp: string;
  final: string;
  data: Uint8Array;
}

/** "created": linked under its name; "exists": the name was already taken (EEXIST). */
export type Written = "created" | "exists";

interface Job {
  put: WriterPut;
  resolve(r: Written): void;
  reject(e: Error): void;
}

const MAX_BATCH = 1024;

export class FsWriter {
  private queue: Job[] = [];
  private running = false;
  private closed = false;
  private flushed: ((ok: boolean) => void) | null = null;
  /** Batches committed (two syncfs calls each); for tests and metrics. */
  batches = 0;

  private constructor(private readonly worker: Worker) {
    worker.onmessage = (ev: MessageEvent<boolean>) => this.onFlushed(ev.data === true);
    worker.onerror = () => this.onFlushed(false);
  }

  /** A writer whose first syncfs of `root` succeeded, or null where syncfs is unavailable. */
  static async start(root: string): Promise<FsWriter | null> {
    if (process.platform !== "linux") return null;
    let worker: Worker | undefined;
    try {
      worker = new Worker(new URL("./fs-writer-worker.ts", import.meta.url).href);
      const w = new FsWriter(worker);
      const ok = await Promise.race([w.flush({ root }), Bun.sleep(10_000).then(() => false)]);
      if (!ok) throw new Error("syncfs unavailable");
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

  terminate(): void {
    this.closed = true;
    this.worker.terminate();
    this.onFlushed(false);
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.queue.length && !this.closed) {
      const jobs = this.queue.splice(0, MAX_BATCH);
      this.batches++;
      const results: (Written | Error)[] = [];
      if (await this.flush(null)) {
        for (const { put } of jobs) results.push(linkFinal(put));
        if (!(await this.flush(null))) results.fill(flushFailed());
      } else {
        for (const { put } of jobs) removeQuietly(put.temp);
        results.push(...jobs.map(flushFailed));
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
  private flush(msg: { root: string } | null): Promise<boolean> {
    return new Promise((resolve) => {
      this.flushed = resolve;
      this.worker.postMessage(msg);
    });
  }

  private onFlushed(ok: boolean): void {
    const f = this.flushed;
    this.flushed = null;
    f?.(ok);
  }
}

function stopped(): Error {
  return Object.assign(new Error("storage writer stopped"), { code: "EIO" });
}

/** The batch could not be made durable: none of its puts may be answered as stored. */
function flushFailed(): Error {
  return Object.assign(new Error("syncfs failed"), { code: "EIO" });
}

function writeFile(path: string, data: Uint8Array): void {
  const fd = openSync(path, "wx", 0o644);
  try {
    for (let off = 0; off < data.byteLength; ) off += writeSync(fd, data, off, data.byteLength - off);
  } finally {
    closeSync(fd);
  }
}

/** Create-only temp file; a folder removed behind our back is created again, once. */
function writeTemp(p: WriterPut): void {
  try {
    writeFile(p.temp, p.data);
  } catch (err) {
    removeQuietly(p.temp);
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    mkdirSync(p.dir, { recursive: true });
    try {
      writeFile(p.temp, p.data);
    } catch (again) {
      removeQuietly(p.temp);
      throw again;
    }
  }
}

function linkFinal(p: WriterPut): Written | Error {
  try {
    linkSync(p.temp, p.final);
    return "created";
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EEXIST" ? "exists" : (err as Error);
  } finally {
    removeQuietly(p.temp);
  }
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {}
}
