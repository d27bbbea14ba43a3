/**
 * @module metadata/adapters/pglite-server
 * The embedded default database: when DATABASE_URL is unset, PGlite (PostgreSQL compiled to
 * WASM, persistent in a data directory) is served over the PostgreSQL wire protocol on
 * 127.0.0.1 by pglite-socket, and the service connects to it with postgres.js exactly as it
 * would to a real server: one SQL code path for both.
 *
 * PGlite is single-connection: the socket server queues whole messages from several sockets
 * into one backend, which interleaves extended-protocol sequences ("portal does not exist").
 * The client therefore MUST use one connection (postgres.js `max: 1`); see PGLITE_POOL_MAX.
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

/** The only pool size that is safe against pglite-socket. */
export const PGLITE_POOL_MAX = 1;

export interface EmbeddedPostgres {
  /** postgres://... on 127.0.0.1 */
  url: string;
  port: number;
  dataDir: string;
  close(): Promise<void>;
}

export async function startPglite(opts: { dataDir: string; port: number }): Promise<EmbeddedPostgres> {
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  // maxConnections 2, not 1: lets a reconnecting client in while the old socket is closing.
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: opts.port, maxConnections: 2 });
  try {
    await server.start();
  } catch (err) {
    await db.close();
    throw err;
  }
  const port = Number(server.getServerConn().split(":").pop());
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}
