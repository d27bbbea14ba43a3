/**
 * Worker thread of SyncfsDurability (fs-writer.ts): calls syncfs(2) through bun:ffi on request. It runs
 * on its own thread because syncfs blocks for the whole flush (milliseconds), which must not
 * stall the event loop. Messages: in `{ root }` once, then `null` per flush; out `true` / `false`.
 */
import { dlopen, FFIType } from "bun:ffi";
import { openSync } from "node:fs";

declare const self: Worker;

const libc = dlopen("libc.so.6", { syncfs: { args: [FFIType.i32], returns: FFIType.i32 } });
let rootFd = -1;

self.onmessage = (ev: MessageEvent<{ root: string } | null>) => {
  try {
    if (ev.data) rootFd = openSync(ev.data.root, "r");
    self.postMessage(libc.symbols.syncfs(rootFd) === 0);
  } catch {
    self.postMessage(false);
  }
};
