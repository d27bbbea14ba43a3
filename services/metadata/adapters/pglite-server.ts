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
 *
 * Durability: PGlite's defaults run postgres with fsync=off on a filesystem layer that drops
 * fsync; `durable: true` (the default) starts it with fsync on, `wal_sync_method=fsync` and
 * DurableNodeFS (pglite-durable-fs.ts), so an answered COMMIT is on the disk. The settings are
 * read back from the running server and returned, for the start-up log.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { DurableNodeFS, fsyncTree } from "./pglite-durable-fs";

/** The only pool size that is safe against pglite-socket. */
export const PGLITE_POOL_MAX = 1;

/**
 * postgres settings of the durable mode, after PGlite's own start parameters minus `-F`
 * (= fsync off). wal_sync_method=fsync: PGlite's fdatasync is a no-op, its fsync is made real by
 * DurableNodeFS. The other two are postgres's defaults, pinned so that nothing turns them off.
 */
export const DURABLE_SETTINGS = {
  fsync: "on",
  synchronous_commit: "on",
  wal_sync_method: "fsync",
  full_page_writes: "on",
} as const;

export function pgliteStartParams(durable: boolean): string[] {
  const base = PGlite.defaultStartParams.filter((p) => p !== "-F");
  if (!durable) return [...base, "-F"];
  return [...base, ...Object.entries(DURABLE_SETTINGS).flatMap(([k, v]) => ["-c", `${k}=${v}`])];
}

/** What the running server reports, and what that means for an acknowledged commit. */
export interface PgliteDurability {
  durable: boolean;
  settings: Record<keyof typeof DURABLE_SETTINGS, string>;
  /** One plain sentence for the start-up log and the README. */
  statement: string;
}

export const DURABLE_STATEMENT =
  "durable: every commit is fsynced to disk (fsync=on, wal_sync_method=fsync, synchronous_commit=on) and survives an OS crash or power cut";
export const NOT_DURABLE_STATEMENT =
  "NOT durable: fsync is off (PGLITE_FSYNC=false); commits survive a killed process but NOT an OS crash or power cut";

export interface EmbeddedPostgres {
  /** postgres://... on 127.0.0.1 */
  url: string;
  port: number;
  dataDir: string;
  durability: PgliteDurability;
  /** fsync(2) calls made for postgres so far (0 when not durable). */
  syncs(): number;
  close(): Promise<void>;
}

export async function readDurability(db: Pick<PGlite, "query">): Promise<PgliteDurability> {
  const settings = {} as Record<keyof typeof DURABLE_SETTINGS, string>;
  for (const name of Object.keys(DURABLE_SETTINGS) as (keyof typeof DURABLE_SETTINGS)[]) {
    const r = await db.query<{ v: string }>("SELECT current_setting($1) AS v", [name]);
    settings[name] = r.rows[0]!.v;
  }
  const durable = (Object.keys(DURABLE_SETTINGS) as (keyof typeof DURABLE_SETTINGS)[]).every((k) => settings[k] === DURABLE_SETTINGS[k]);
  return { durable, settings, statement: durable ? DURABLE_STATEMENT : NOT_DURABLE_STATEMENT };
}

export async function startPglite(opts: {
  dataDir: string;
  port: number;
  /** default true */
  durable?: boolean;
  /** tests: the host path of every fsync made for postgres */
  onSync?: (hostPath: string) => void;
}): Promise<EmbeddedPostgres> {
  const dataDir = resolve(opts.dataDir);
  const durable = opts.durable ?? true;
  mkdirSync(dataDir, { recursive: true });
  const fresh = !existsSync(join(dataDir, "PG_VERSION"));
  const fs = durable ? new DurableNodeFS(dataDir, opts.onSync) : undefined;
  const db = await PGlite.create({ dataDir, fs, startParams: pgliteStartParams(durable) });
  // initdb wrote the new cluster without a single fsync: put it on the disk once.
  if (durable && fresh) fsyncTree(dataDir);
  let durability: PgliteDurability;
  try {
    durability = await readDurability(db);
    if (durable && !durability.durable) throw new Error(`pglite: durable settings not in effect: ${JSON.stringify(durability.settings)}`);
  } catch (err) {
    await db.close();
    throw err;
  }
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
    durability,
    syncs: () => fs?.syncs ?? 0,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}
