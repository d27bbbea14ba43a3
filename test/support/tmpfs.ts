/**
 * @module tmpfs
 * A small filesystem of its own for disk-full tests: a tmpfs with a size limit, mounted on a
 * fresh temp folder (`mount -t tmpfs -o size=…`, which needs root or CAP_SYS_ADMIN), and a filler
 * file that takes its free space. `tmpfsUnavailable()` says, once per process, why a test file
 * must skip (not root, or mount refused, e.g. in an unprivileged container); `mountTmpfs` mounts
 * and `unmount()` unmounts and removes the folder.
 */
import { closeSync, mkdtempSync, openSync, rmSync, statfsSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Tmpfs {
  dir: string;
  /** Free bytes an unprivileged writer may still use. */
  freeBytes(): number;
  /** Unmounts (lazily if busy) and removes the mount point. */
  unmount(): void;
}

function run(cmd: string[]): { ok: boolean; err: string } {
  const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  return { ok: p.exitCode === 0, err: p.stderr.toString().trim() };
}

let probed: string | null | undefined;

/** Why a tmpfs cannot be mounted here (a message for the skip), or null when it can. */
export function tmpfsUnavailable(): string | null {
  if (probed !== undefined) return probed;
  if (process.platform !== "linux") return (probed = "tmpfs mounts need Linux");
  try {
    const fs = mountTmpfs(64 * 1024);
    fs.unmount();
    probed = null;
  } catch (err) {
    probed = `cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): ${(err as Error).message}`;
  }
  return probed;
}

/** Mounts a tmpfs of `sizeBytes` (rounded up to pages by the kernel) on a new temp folder. */
export function mountTmpfs(sizeBytes: number): Tmpfs {
  const dir = mkdtempSync(join(tmpdir(), "candid-tmpfs-"));
  const m = run(["mount", "-t", "tmpfs", "-o", `size=${sizeBytes},mode=0755`, "tmpfs", dir]);
  if (!m.ok) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(m.err || "mount failed");
  }
  return {
    dir,
    freeBytes: () => {
      const s = statfsSync(dir);
      return s.bavail * s.bsize;
    },
    unmount: () => {
      if (!run(["umount", dir]).ok) run(["umount", "-l", dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Writes `path` until the volume has at most `leaveBytes` free (0: until ENOSPC); returns the
 * bytes written. Removing the file gives the space back.
 */
export function fillVolume(fs: Tmpfs, path: string, leaveBytes = 0): number {
  const fd = openSync(path, "w");
  const block = new Uint8Array(64 * 1024).fill(0x5a);
  let written = 0;
  try {
    for (;;) {
      const room = fs.freeBytes() - leaveBytes;
      if (room <= 0) break;
      try {
        written += writeSync(fd, block, 0, Math.min(block.byteLength, room));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOSPC") break;
        throw err;
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}
