/**
 * @module tus-server
 * The durable tus server of the comparison bench (test/bench/compare.ts, issue 13): @tus/server
 * with @tus/file-store on Bun.serve, made durable by one fsync per finished upload. FileStore
 * writes an upload's bytes with a write stream in `write()` (dist/index.js: createWriteStream
 * `r+` at the offset, piped) and never syncs; the server calls `onUploadFinish(req, upload)`
 * after the last write of an upload and before it answers, so the hook opens the upload's file
 * (FileStore keeps it at `<directory>/<upload id>`), fsyncs it and closes it: the 201/204 is sent
 * only once the bytes are on disk. (Not synced, as in FileStore: the `<id>.json` info file
 * and the directory entry.)
 *
 *   bun test/bench/support/tus-server.ts <directory>   → prints "listening <port>"
 */
import { open } from "node:fs/promises";
import { join } from "node:path";
import { FileStore } from "@tus/file-store";
import { Server } from "@tus/server";

const directory = process.argv[2]!;
const tus = new Server({
  path: "/files",
  datastore: new FileStore({ directory }),
  async onUploadFinish(_req, upload) {
    const fh = await open(join(directory, upload.id), "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    return {};
  },
});
const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => tus.handleWeb(req) });
console.log(`listening ${server.port}`);
