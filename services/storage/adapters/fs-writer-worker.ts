/**
 * Worker thread of SyncfsDurability (fs-writer.ts): calls syncfs(2) through bun:ffi on request. It runs
 * on its own thread because syncfs blocks for the whole flush (milliseconds), which must not
 * stall the event loop. Messages: in `{ root }` once, then `null` per flush; out `true`, or the
 * errno's name when the call failed (e.g. "ENOSPC": since Linux 5.8 syncfs reports writeback
 * errors, so a volume that ran out of space while flushing says so), "EIO" when it is unknown.
 */
import { dlopen, FFIType, read } from "bun:ffi";
import { openSync } from "node:fs";
import { constants } from "node:os";

declare const self: Worker;

const libc = dlopen("libc.so.6", {
  syncfs: { args: [FFIType.i32], returns: FFIType.i32 },
  // errno is thread-local: read right after the failed call, on this same thread.
  __errno_location: { args: [], returns: FFIType.ptr },
});
const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));
let rootFd = -1;

function errnoName(): string {
  const p = libc.symbols.__errno_location();
  return (p && ERRNO_NAMES.get(read.i32(p, 0))) || "EIO";
}

self.onmessage = (ev: MessageEvent<{ root: string } | null>) => {
  try {
    if (ev.data) rootFd = openSync(ev.data.root, "r");
    self.postMessage(libc.symbols.syncfs(rootFd) === 0 ? true : errnoName());
  } catch (err) {
    self.postMessage((err as NodeJS.ErrnoException).code ?? "EIO");
  }
};
