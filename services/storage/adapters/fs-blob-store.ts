/**
 * @module fs-blob-store
 * BlobStore on a local (POSIX) filesystem: the default backend.
 *
 * Layout: <root>/<session_id>/audio/chunk_<N>.<ext> and <root>/<session_id>/frames/frame_<N>.jpg
 * (core/blob-ref.ts). `location` is the absolute path of the file.
 *
 * A put is atomic, durable and create-only:
 *   1. write the bytes to a temp file in the TARGET folder (same filesystem, so link works),
 *      fdatasync it: the content is on disk before any name points at it;
 *   2. link(temp, final): atomic, and fails with EEXIST instead of replacing, so a stored blob is
 *      never overwritten (rename would silently replace). On EEXIST the existing file's SHA-256
 *      decides IDENTICAL or CONFLICT, and the new bytes are dropped;
 *   3. unlink(temp), then fsync the folder so both name changes survive a crash. The answer
 *      (CREATED / IDENTICAL) is given only after that folder fsync, so an IDENTICAL answer to a
 *      re-send racing the first write is just as durable as the CREATED one.
 *
 * Two strategies make it durable (`FsDurability`, fs-durability.ts), chosen once by `FsSyncMode`:
 *  - syncfs (the default on Linux, `SyncfsDurability` in fs-writer.ts): one worker thread makes
 *    each step durable with ONE syncfs(2) for a whole batch of puts: group commit, nothing
 *    blocking on the event loop but the page-cache writes;
 *  - fsync (elsewhere, or STORAGE_FS_SYNC=fsync, `FsyncDurability`): each put fdatasyncs its
 *    temp file on the thread pool, and `DirSyncer` coalesces the folder fsyncs: while one runs,
 *    every put that finishes its link waits for the NEXT fsync, and all of them share it.
 * New folders are created once with mkdir -p and their parents fsynced once (also coalesced);
 * the "already created" set is a bounded cache, and a folder removed behind our back (e.g. by
 * the reaper) is recreated on the ENOENT.
 *
 * A volume out of space or quota (ENOSPC, EDQUOT, at any step) refuses the put with
 * STORAGE_FULL, and nothing of it stays: the temp file is removed and no name points at it, so a
 * re-send once space is back writes it afresh. (Only when the last syncfs, of the names, fails
 * is the final name already linked: to a whole file, whose re-send then answers IDENTICAL.)
 *
 * Crash leftovers: a crash between steps 1 and 3 can leave a ".<name>.<random>.tmp" file beside
 * the blobs; it is never a blob name. The first put into a folder in a process removes such files
 * older than STALE_TEMP_MS (a client re-sending after a crash writes into that very folder), and
 * `sweepTemps` walks every session folder for them (storage main.ts: at start and periodically,
 * STORAGE_TEMP_GRACE_MS), so a folder nobody writes into again is cleaned too.
 *
 * Listing (ListBlobs, the reaper's orphan sweeper): session folders, then their audio/ and
 * frames/ folders, each read and sorted, so keys come in byte order as S3 lists them; a page ends
 * after its last key, and the next starts after it. Only names of the layout are listed
 * (parseBlobKey); `modifiedAtMs` is the file's mtime (when its bytes were written: link keeps it).
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { AppError } from "../../shared/errors";
import { isCanonicalUuid } from "../../../proto/wire/ids";
import { type CheckedRef, MANIFEST_NAME, parseBlobKey } from "../core/blob-ref";
import {
  type BlobData,
  type BlobHead,
  type BlobStore,
  type CheckedPut,
  type DeleteOptions,
  type ListPage,
  type ListQuery,
  type ListedBlob,
  type PutResult,
  type TempSweep,
  outcomeForExisting,
} from "../core/blob-store";
import { sha256Hex } from "../core/checksum";
import { type FsDurability, FsyncDurability, type Written, noSpaceErrno } from "./fs-durability";
import { SyncfsDurability } from "./fs-writer";

/** How puts are made durable: one syncfs per round of puts, or an fdatasync per file. */
export type FsSyncMode = "auto" | "syncfs" | "fsync";

/** A temp file older than this is a crash leftover (a put takes milliseconds). */
export const STALE_TEMP_MS = 10 * 60_000;
export const TEMP_RE = /^\..+\.[0-9a-f]{12}\.tmp$/;

/** The folders of a session that hold blobs (and their temp files), in byte order. */
const BLOB_FOLDERS = ["audio", "frames"] as const;

/** Max folders remembered as "exists and durable"; past it the cache is cleared (costs one mkdir each). */
const MAX_KNOWN_DIRS = 50_000;

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

async function fsyncDir(path: string): Promise<void> {
  const fd = fs.openSync(path, "r");
  try {
    await fsyncFd(fd);
  } finally {
    closeQuietly(fd);
  }
}

/**
 * Coalesces fsyncs of one folder. A caller must be covered by an fsync that STARTS after its
 * change, so callers arriving while one runs share the next one; at most one waits queued.
 */
export class DirSyncer {
  private running: Promise<void> | null = null;
  private next: Promise<void> | null = null;
  /** How many fsync calls were actually made (for tests and metrics). */
  syncs = 0;

  constructor(
    readonly path: string,
    private readonly onIdle: () => void = () => {},
    private readonly doSync: (path: string) => Promise<void> = fsyncDir,
  ) {}

  sync(): Promise<void> {
    if (this.next) return this.next;
    if (!this.running) return this.start();
    const after = this.running.then(
      () => {},
      () => {},
    );
    this.next = after.then(() => {
      this.next = null;
      return this.start();
    });
    return this.next;
  }

  private start(): Promise<void> {
    this.syncs++;
    const p: Promise<void> = this.doSync(this.path).finally(() => {
      if (this.running === p) {
        this.running = null;
        if (!this.next) this.onIdle();
      }
    });
    this.running = p;
    return p;
  }
}

export class FsBlobStore implements BlobStore {
  readonly backend = "fs";
  readonly root: string;
  private readonly syncers = new Map<string, DirSyncer>();
  private readonly knownDirs = new Map<string, Promise<void>>();
  /** Set once by `open`. */
  private durability!: FsDurability;

  /** `root` may be relative (resolved against the working folder). Use `FsBlobStore.open`. */
  private constructor(root: string) {
    this.root = isAbsolute(root) ? root : resolve(root);
  }

  /**
   * Creates the root folder (mkdir -p, parents fsynced) and returns the store. `sync` "auto"
   * uses syncfs where the platform has it and falls back to per-file fdatasync.
   */
  static async open(root: string, opts: { sync?: FsSyncMode } = {}): Promise<FsBlobStore> {
    const store = new FsBlobStore(root);
    await store.makeDurableDir(store.root, dirname(store.root));
    const mode = opts.sync ?? "auto";
    const syncfs = mode === "fsync" ? null : await SyncfsDurability.start(store.root);
    if (!syncfs && mode === "syncfs") throw new Error("syncfs is not available on this platform (set STORAGE_FS_SYNC=fsync)");
    store.durability =
      syncfs ??
      new FsyncDurability({
        syncDir: (dir) => store.syncDir(dir),
        // The folder vanished after we cached it (deleted session): make it durable again.
        dirRecreated: (dir) => {
          store.knownDirs.delete(dir);
          return store.ensureDir(dir);
        },
      });
    return store;
  }

  /** "syncfs" or "fsync": what this store actually uses. */
  get syncMode(): "syncfs" | "fsync" {
    return this.durability.mode;
  }

  describe(): Record<string, unknown> {
    return { root: this.root, sync: this.syncMode };
  }

  close(): void {
    this.durability.close();
  }

  async ready(): Promise<boolean> {
    try {
      await fsp.access(this.root, fsp.constants.W_OK);
      return true;
    } catch {
      return false;
    }
  }

  async write(put: CheckedPut): Promise<PutResult> {
    const dir = join(this.root, put.dir);
    const final = join(dir, put.name);
    const temp = join(dir, `.${put.name}.${randomBytes(6).toString("hex")}.tmp`);
    let written: Written;
    try {
      await this.ensureDir(dir);
      written = await this.durability.write({ dir, temp, final, data: put.data });
    } catch (err) {
      throw storageFull(err) ?? err;
    }
    const outcome = written === "created" ? "created" : outcomeForExisting(await fileSha256(final), put.sha256Hex);
    return { outcome, location: final };
  }

  async get(at: CheckedRef): Promise<BlobData> {
    const path = this.pathOf(at);
    try {
      const data = await fsp.readFile(path);
      return { data, sha256Hex: sha256Hex(data) };
    } catch (err) {
      if (errno(err) === "ENOENT") throw new AppError("NOT_FOUND", "no such blob");
      throw err;
    }
  }

  async head(at: CheckedRef): Promise<BlobHead | null> {
    const path = this.pathOf(at);
    try {
      const data = await fsp.readFile(path);
      return { size: data.byteLength, sha256Hex: sha256Hex(data), location: path };
    } catch (err) {
      if (errno(err) === "ENOENT") return null;
      throw err;
    }
  }

  async delete(at: CheckedRef, opts: DeleteOptions = {}): Promise<boolean> {
    const path = this.pathOf(at);
    try {
      // The check and the unlink are not one step; the window is microseconds, against the
      // seconds between a put and its row that the orphan sweeper's grace period already covers.
      if (opts.unmodifiedSinceMs !== undefined && Math.floor((await fsp.stat(path)).mtimeMs) > opts.unmodifiedSinceMs) return false;
      await fsp.unlink(path);
    } catch (err) {
      if (errno(err) === "ENOENT") {
        await this.pruneEmpty(at);
        return false;
      }
      throw err;
    }
    // A concurrent delete of the folder's last blob may have removed the folder already (pruneEmpty).
    await this.syncDir(dirname(path)).catch((err) => {
      if (errno(err) !== "ENOENT") throw err;
    });
    await this.pruneEmpty(at);
    return true;
  }

  /**
   * Removes the blob's folder and then its session folder when they are empty (an erased session
   * leaves no name behind; rmdir refuses a folder that is not empty, so nothing else goes). A put
   * racing this recreates the folder on its ENOENT (writeTemp). The session folder's removal is
   * made durable with an fsync of the root.
   */
  private async pruneEmpty(at: CheckedRef): Promise<void> {
    const sessionDir = join(this.root, at.ref.sessionId);
    const dirs = at.dir === at.ref.sessionId ? [sessionDir] : [join(this.root, at.dir), sessionDir];
    for (const dir of dirs) {
      if (!(await rmdirIfEmpty(dir))) return;
      this.knownDirs.delete(dir);
    }
    await this.syncDir(this.root);
  }

  async list(q: ListQuery): Promise<ListPage> {
    const sessions = q.sessionId ? [q.sessionId] : (await readdirOrEmpty(this.root)).filter(isCanonicalUuid).sort();
    const afterSession = q.after.slice(0, 36);
    const blobs: ListedBlob[] = [];
    for (const sessionId of sessions) {
      // Every key of a session sorts before those of a greater session id (same length, then "/").
      if (sessionId < afterSession) continue;
      for (const folder of BLOB_FOLDERS) {
        const dirKey = `${sessionId}/${folder}`;
        for (const name of (await readdirOrEmpty(join(this.root, dirKey))).sort()) {
          const key = `${dirKey}/${name}`;
          if (key <= q.after) continue;
          const at = parseBlobKey(key);
          if (!at) continue;
          let st: fs.Stats;
          try {
            st = await fsp.stat(join(this.root, key));
          } catch (err) {
            if (errno(err) === "ENOENT") continue; // deleted while we listed
            throw err;
          }
          if (!st.isFile()) continue;
          blobs.push({ at, size: st.size, modifiedAtMs: Math.floor(st.mtimeMs) });
          if (blobs.length >= q.pageSize) return { blobs, next: key };
        }
      }
      // "<session>/manifest.json" sorts after "<session>/frames/…", as in S3.
      const manifestKey = `${sessionId}/${MANIFEST_NAME}`;
      if (manifestKey > q.after) {
        const st = await fsp.stat(join(this.root, manifestKey)).catch(() => null);
        if (st?.isFile()) {
          blobs.push({ at: parseBlobKey(manifestKey)!, size: st.size, modifiedAtMs: Math.floor(st.mtimeMs) });
          if (blobs.length >= q.pageSize) return { blobs, next: manifestKey };
        }
      }
    }
    return { blobs, next: "" };
  }

  async sweepTemps(olderThanMs: number): Promise<TempSweep> {
    const total: TempSweep = { removed: 0, bytes: 0 };
    for (const sessionId of (await readdirOrEmpty(this.root)).filter(isCanonicalUuid)) {
      for (const folder of [...BLOB_FOLDERS, ""]) {
        const r = await sweepTempsIn(join(this.root, sessionId, folder), olderThanMs);
        total.removed += r.removed;
        total.bytes += r.bytes;
      }
      // Empty folders of an erased session (a delete killed before its rmdir), once old enough.
      for (const folder of [...BLOB_FOLDERS, ""]) {
        const dir = join(this.root, sessionId, folder);
        const st = await fsp.stat(dir).catch(() => null);
        if (st && st.mtimeMs < olderThanMs && (await rmdirIfEmpty(dir))) this.knownDirs.delete(dir);
      }
    }
    return total;
  }

  private pathOf(at: CheckedRef): string {
    return join(this.root, at.key);
  }

  private syncDir(dir: string): Promise<void> {
    let s = this.syncers.get(dir);
    if (!s) {
      s = new DirSyncer(dir, () => this.syncers.delete(dir));
      this.syncers.set(dir, s);
    }
    return s.sync();
  }

  /** mkdir -p `dir` (a folder under root) and fsync its parents up to root, once per process. */
  private ensureDir(dir: string): Promise<void> {
    let p = this.knownDirs.get(dir);
    if (!p) {
      if (this.knownDirs.size >= MAX_KNOWN_DIRS) this.knownDirs.clear();
      p = this.makeDurableDir(dir, this.root);
      // The first put into a folder in this process also clears what a crash left there.
      void p.then(() => sweepStaleTemps(dir)).catch(() => {});
      this.knownDirs.set(dir, p);
      p.catch(() => this.knownDirs.delete(dir));
    }
    return p;
  }

  /** mkdir -p `dir`, then fsync every folder from dir's parent up to `top` (inclusive). */
  private async makeDurableDir(dir: string, top: string): Promise<void> {
    await fsp.mkdir(dir, { recursive: true });
    const parents: string[] = [];
    for (let d = dirname(dir); ; d = dirname(d)) {
      parents.push(d);
      if (d === top || d === dirname(d) || !d.startsWith(top)) break;
    }
    await Promise.all(parents.map((d) => this.syncDir(d)));
  }
}

/** rmdir; false when the folder is not empty or not there. */
async function rmdirIfEmpty(dir: string): Promise<boolean> {
  try {
    await fsp.rmdir(dir);
    return true;
  } catch (err) {
    const code = errno(err);
    if (code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOENT") return false;
    throw err;
  }
}

/** Removes crash leftovers (temp files older than STALE_TEMP_MS) from one folder; returns how many. */
export async function sweepStaleTemps(dir: string, now = Date.now()): Promise<number> {
  return (await sweepTempsIn(dir, now - STALE_TEMP_MS)).removed;
}

/** Removes the temp files of one folder last modified before `olderThanMs` (Unix ms). */
export async function sweepTempsIn(dir: string, olderThanMs: number): Promise<TempSweep> {
  const r: TempSweep = { removed: 0, bytes: 0 };
  for (const name of await readdirOrEmpty(dir)) {
    if (!TEMP_RE.test(name)) continue;
    const path = join(dir, name);
    try {
      const st = await fsp.stat(path);
      if (st.mtimeMs >= olderThanMs) continue;
      await fsp.unlink(path);
      r.removed++;
      r.bytes += st.size;
    } catch {
      // gone already, or raced with its own put
    }
  }
  return r;
}

/** readdir, or [] when the folder does not exist (a session with frames only, one just deleted). */
async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (err) {
    if (errno(err) === "ENOENT" || errno(err) === "ENOTDIR") return [];
    throw err;
  }
}

/**
 * ENOSPC / EDQUOT from any step of a put as STORAGE_FULL (the errno as its log reason, the
 * original as its cause); null for any other error, which stays what it is (INTERNAL).
 */
export function storageFull(err: unknown): AppError | null {
  const errno = noSpaceErrno(err);
  return errno ? new AppError("STORAGE_FULL", "storage is full: send the item again later", {}, { cause: err, reason: errno.toLowerCase() }) : null;
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {}
}

function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
}

async function fileSha256(path: string): Promise<string> {
  return sha256Hex(await fsp.readFile(path));
}
