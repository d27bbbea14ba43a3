/**
 * @module fs-durability
 * How the local-disk store makes a put durable: the `FsDurability` strategy, its two
 * implementations and the file steps they share.
 *
 * Both strategies do the same three steps (see fs-blob-store.ts for why): write the bytes to a
 * temp file beside the final name; once that content is durable, link(temp, final), which fails
 * with EEXIST instead of replacing; remove the temp name and make the folder's names durable.
 * They differ only in how "durable" is paid for:
 *  - `SyncfsDurability` (fs-writer.ts, the default on Linux): one syncfs(2) for a whole batch of
 *    puts per step, on a worker thread: group commit;
 *  - `FsyncDurability` (here; elsewhere, or STORAGE_FS_SYNC=fsync): an fdatasync of each temp
 *    file on the thread pool, then a folder fsync shared by every put that linked meanwhile
 *    (`DirSyncer`, fs-blob-store.ts).
 */
import * as fs from "node:fs";
import { closeSync, linkSync, mkdirSync, openSync, unlinkSync, writeSync } from "node:fs";

export interface WriterPut {
  dir: string;
  temp: string;
  final: string;
  data: Uint8Array;
}

/**
 * The errnos of a volume that cannot take more: no blocks or inodes left (ENOSPC), or the
 * user's quota reached (EDQUOT). Any step can meet them: the temp file's write, a new folder,
 * the link (a folder that needs a new block), an fdatasync or a syncfs that flushes delayed
 * allocations. fs-blob-store.ts turns them into STORAGE_FULL; the temp file is removed either way.
 */
export const NO_SPACE_ERRNOS: ReadonlySet<string> = new Set(["ENOSPC", "EDQUOT"]);

/** The errno name of a volume out of space or quota, or undefined for any other error. */
export function noSpaceErrno(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code !== undefined && NO_SPACE_ERRNOS.has(code) ? code : undefined;
}

/** "created": linked under its name; "exists": the name was already taken (EEXIST). */
export type Written = "created" | "exists";

export interface FsDurability {
  readonly mode: "syncfs" | "fsync";
  /**
   * Writes `data` to `temp`, then links it as `final`; resolves once both are durable, and on
   * "exists" once the existing name is durable too. The temp file is gone either way.
   */
  write(put: WriterPut): Promise<Written>;
  /** Releases what the strategy holds (the syncfs worker); called once, at shutdown. */
  close(): void;
}

/**
 * The one temp-file write: create-only open, write, close, with blocking calls (tens of
 * microseconds into the page cache, cheaper than three thread-pool round trips). A folder
 * removed behind the store's back (e.g. by the reaper) is created again, once: returns true then.
 * On failure nothing is left behind.
 */
export function writeTemp(p: WriterPut): boolean {
  try {
    writeFile(p.temp, p.data);
    return false;
  } catch (err) {
    removeQuietly(p.temp);
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  mkdirSync(p.dir, { recursive: true });
  try {
    writeFile(p.temp, p.data);
  } catch (again) {
    removeQuietly(p.temp);
    throw again;
  }
  return true;
}

/** link(temp, final), then remove temp: "created", "exists" (EEXIST), or the error. Never throws. */
export function linkFinal(p: WriterPut): Written | Error {
  try {
    linkSync(p.temp, p.final);
    return "created";
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EEXIST" ? "exists" : (err as Error);
  } finally {
    removeQuietly(p.temp);
  }
}

export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {}
}

function writeFile(path: string, data: Uint8Array): void {
  const fd = openSync(path, "wx", 0o644);
  try {
    for (let off = 0; off < data.byteLength; ) off += writeSync(fd, data, off, data.byteLength - off);
  } finally {
    closeSync(fd);
  }
}

/** What FsyncDurability needs from its store: the coalesced folder fsync and the durable mkdir. */
export interface FsyncHooks {
  /** fsync `dir`, shared with every caller that arrives while one runs. */
  syncDir(dir: string): Promise<void>;
  /** `dir` was just created again by writeTemp: make its parents durable. */
  dirRecreated(dir: string): Promise<void>;
}

/** Per-file durability: fdatasync the temp file, link, fsync the folder (coalesced). */
export class FsyncDurability implements FsDurability {
  readonly mode = "fsync";

  constructor(private readonly hooks: FsyncHooks) {}

  async write(p: WriterPut): Promise<Written> {
    if (writeTemp(p)) await this.hooks.dirRecreated(p.dir);
    try {
      await fdatasyncPath(p.temp); // the content is on disk before any name points at it
    } catch (err) {
      removeQuietly(p.temp);
      throw err;
    }
    const linked = linkFinal(p);
    if (linked instanceof Error) throw linked;
    // Covers our link and unlink, and, for "exists", the link of whoever created the file.
    await this.hooks.syncDir(p.dir);
    return linked;
  }

  /** Nothing to release: every write owns its file descriptors. */
  close(): void {}
}

/** open, fdatasync, close on the thread pool. */
function fdatasyncPath(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.open(path, "r", (err, fd) => {
      if (err) return reject(err);
      fs.fdatasync(fd, (syncErr) => fs.close(fd, () => (syncErr ? reject(syncErr) : resolve())));
    });
  });
}
