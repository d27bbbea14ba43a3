/**
 * @module chaos/pg-cluster
 * A private PostgreSQL cluster for the chaos suite: initdb into a temp folder, started on a free
 * port with pg_ctl, so `pg_ctl restart -m immediate` (a crash and recovery) touches no other
 * test's database. Uses the binaries of the newest /usr/lib/postgresql/<version>/bin (Debian);
 * as root, every command runs as the `postgres` user (PostgreSQL refuses to run as root).
 */
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../support/procs";

export interface PgCluster {
  /** Admin URL (trust authentication on 127.0.0.1). */
  adminUrl: string;
  port: number;
  /** `pg_ctl restart -m immediate`: no shutdown checkpoint, crash recovery on start. */
  restartImmediate(): Promise<void>;
  stop(): Promise<void>;
}

function binDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "initdb"))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error(`no PostgreSQL binaries under ${root}: source test/system-deps.sh`);
  return join(root, newest, "bin");
}

/**
 * Runs a command (as postgres when root) with its output in the file `out`, not a pipe: a
 * postmaster that pg_ctl starts keeps its fds open, so reading a pipe to its end would hang.
 */
async function run(argv: string[], out: string): Promise<void> {
  const asPostgres = process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--"] : [];
  const p = Bun.spawn([...asPostgres, ...argv], { stdin: "ignore", stdout: Bun.file(out), stderr: Bun.file(out) });
  const code = await p.exited;
  if (code !== 0) throw new Error(`${argv.join(" ")} exited with ${code}:\n${await Bun.file(out).text().catch(() => "")}`);
}

export async function startPgCluster(): Promise<PgCluster> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), "candid-chaos-pg-"));
  if (process.getuid?.() === 0) {
    const uid = Number(Bun.spawnSync(["id", "-u", "postgres"]).stdout.toString().trim());
    const gid = Number(Bun.spawnSync(["id", "-g", "postgres"]).stdout.toString().trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, "data");
  const port = await freePort();
  const pgCtl = join(bin, "pg_ctl");
  const cmdLog = join(tmpdir(), `${dir.split("/").pop()}.cmd.log`);
  try {
    await run([join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-instructions"], cmdLog);
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=100`;
    await run([pgCtl, "-D", data, "-o", opts, "-l", join(dir, "log"), "-w", "-t", "30", "start"], cmdLog);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    rmSync(cmdLog, { force: true });
    throw e;
  }
  return {
    adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async restartImmediate() {
      await run([pgCtl, "-D", data, "-l", join(dir, "log"), "-m", "immediate", "-w", "-t", "30", "restart"], cmdLog);
    },
    async stop() {
      await run([pgCtl, "-D", data, "-m", "fast", "-w", "-t", "30", "stop"], cmdLog).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
      rmSync(cmdLog, { force: true });
    },
  };
}
