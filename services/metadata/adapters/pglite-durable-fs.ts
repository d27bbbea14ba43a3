/**
 * @module metadata/adapters/pglite-durable-fs
 * Makes PGlite's Node filesystem layer honour fsync, so that a COMMIT PGlite answers survives an
 * OS crash or a power cut, not only a killed process.
 *
 * How @electric-sql/pglite 0.5.14 persists on Node (read from its dist, see docs/metadata.md):
 * - `NodeFS` mounts Emscripten's built-in NODEFS at PGDATA: every postgres write() is a
 *   synchronous `fs.writeSync` (a pwrite64 on the host), so data reaches the OS page cache at once
 *   (a kill -9 loses nothing) but nothing ever asks the kernel to put it on the disk:
 *   - the start parameters (`PGlite.defaultStartParams`) contain `-F`, i.e. `fsync=off`;
 *   - with fsync on, postgres's `fsync()` reaches Emscripten's `fd_sync`, which calls the
 *     stream's `stream_ops.fsync` if there is one and otherwise returns success; NODEFS has none;
 *   - `fdatasync()` (postgres's default `wal_sync_method` on Linux) is `__syscall_fdatasync`,
 *     which returns 0 without doing anything, and it is a closure inside the WASM glue that
 *     cannot be replaced from outside;
 *   - NODEFS's rename first unlinks an existing target on the host, then renames: a replace is not
 *     atomic (postgres replaces e.g. `global/pg_filenode.map` that way, then fsyncs the folder);
 *   - initdb's files are written without any fsync.
 *   `relaxedDurability` and `syncToFs()` only concern the IndexedDB / OPFS frontends; on NodeFS
 *   `syncToFs()` is empty.
 *
 * What this module does about each (the start parameters are in pglite-server.ts):
 * - `stream_ops.fsync` of NODEFS = `fs.fsyncSync(nfd)` (files AND folders: NODEFS opens a real
 *   descriptor for both). A failing fsync becomes EIO in postgres, which PANICs (data_sync_retry
 *   off) rather than carrying on: the right answer to a lost write.
 * - `wal_sync_method=fsync` instead of fdatasync (whose call cannot be reached); the WAL is then
 *   flushed by a real fsync(2) at every commit, and data files by fsync at checkpoints.
 * - rename = the host's rename(2) first (atomic replace), then the in-memory node of the replaced
 *   target is dropped; no unlink in between.
 * - `fsyncTree()`: after initdb, every file and folder of the new data directory, and the folder
 *   holding it, is fsynced once.
 *
 * `DurableNodeFS.syncs` counts the fsyncs that reached the host, and `onSync` (tests) hears
 * the host path of each.
 */
import { closeSync, fsyncSync, openSync, constants as fsc, readdirSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { NodeFS } from "@electric-sql/pglite/nodefs";
import type { PGlite } from "@electric-sql/pglite";

/** The narrow part of Emscripten's FS / NODEFS that this module touches. */
interface EmNode {
  name: string;
  parent: EmNode;
}
interface EmStream {
  nfd?: number;
  node: EmNode;
}
interface EmNodeFs {
  stream_ops: { fsync?: (stream: EmStream) => number };
  node_ops: { rename: (oldNode: EmNode, newDir: EmNode, newName: string) => void };
  realPath(node: EmNode): string;
  tryFSOperation<T>(f: () => T): T;
}
interface EmFs {
  filesystems: { NODEFS: EmNodeFs };
  lookupNode(parent: EmNode, name: string): EmNode;
  destroyNode(node: EmNode): void;
}
interface EmModule {
  FS: EmFs;
}

type EmscriptenOpts = Awaited<ReturnType<NodeFS["init"]>>["emscriptenOpts"];

/** NodeFS whose fsync reaches the disk and whose rename replaces atomically. */
export class DurableNodeFS extends NodeFS {
  /** fsync(2) calls made on behalf of postgres (WAL, data files, folders). */
  syncs = 0;

  constructor(
    dataDir: string,
    private readonly onSync?: (hostPath: string) => void,
  ) {
    super(dataDir);
  }

  override async init(pg: PGlite, opts: EmscriptenOpts): Promise<{ emscriptenOpts: EmscriptenOpts }> {
    const { emscriptenOpts } = await super.init(pg, opts);
    const preRun = [...((emscriptenOpts.preRun as unknown[] | undefined) ?? []), (mod: EmModule) => this.patch(mod.FS)];
    return { emscriptenOpts: { ...emscriptenOpts, preRun } as EmscriptenOpts };
  }

  private patch(FS: EmFs): void {
    const nodefs = FS.filesystems.NODEFS;
    // One NODEFS object per PGlite module instance: patching it touches no other database.
    nodefs.stream_ops.fsync = (stream) => {
      if (stream.nfd === undefined) return 0;
      nodefs.tryFSOperation(() => fsyncSync(stream.nfd!));
      this.syncs++;
      this.onSync?.(nodefs.realPath(stream.node));
      return 0;
    };
    nodefs.node_ops.rename = (oldNode, newDir, newName) => {
      const oldPath = nodefs.realPath(oldNode);
      const newPath = join(nodefs.realPath(newDir), newName);
      let replaced: EmNode | undefined;
      try {
        replaced = FS.lookupNode(newDir, newName);
      } catch {
        replaced = undefined; // no target: a plain rename
      }
      nodefs.tryFSOperation(() => renameSync(oldPath, newPath));
      if (replaced && replaced !== oldNode) FS.destroyNode(replaced);
      oldNode.name = newName;
    };
  }
}

/** fsync every file and folder under `root`, then the folder holding it. Returns the count. */
export function fsyncTree(root: string): number {
  let count = 0;
  const sync = (path: string, dir: boolean) => {
    const fd = openSync(path, dir ? fsc.O_RDONLY | fsc.O_DIRECTORY : fsc.O_RDONLY);
    try {
      fsyncSync(fd);
      count++;
    } finally {
      closeSync(fd);
    }
  };
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) sync(path, false);
    }
    sync(dir, true); // after its entries: the folder's names point at synced files
  };
  walk(root);
  sync(dirname(root), true);
  return count;
}
