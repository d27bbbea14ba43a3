/**
 * Worker thread of SyncfsWorker (syncfs.ts): calls syncfs(2) through bun:ffi on request. It runs
 * on its own thread because syncfs blocks for the whole flush (milliseconds), which must not stall
 * the event loop. Messages: in {id, path}, out {id, ok}.
 */
import { dlopen, FFIType } from "bun:ffi";
import { openSync } from "node:fs";

declare const self: Worker;

const libc = dlopen("libc.so.6", { syncfs: { args: [FFIType.i32], returns: FFIType.i32 } });
const fds = new Map<string, number>();

self.onmessage = (ev: MessageEvent<{ id: number; path: string }>) => {
  const { id, path } = ev.data;
  try {
    let fd = fds.get(path);
    if (fd === undefined) {
      fd = openSync(path, "r");
      fds.set(path, fd);
    }
    self.postMessage({ id, ok: libc.symbols.syncfs(fd) === 0 });
  } catch {
    self.postMessage({ id, ok: false });
  }
};
