/**
 * `npm start`: the whole product on one machine with embedded defaults (PGlite + local disk).
 *
 * A small supervisor: it starts metadata and storage, waits until both answer their gRPC health
 * check, then starts the gateway, the reaper and the web app (building the SvelteKit app first
 * when its build is missing or older than its sources). A child that dies is restarted with
 * backoff, so killing the gateway behaves like a pod restart. SIGINT/SIGTERM stop the gateway
 * first (it drains in-flight blobs), then the rest.
 */
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { int, loadEnvOrExit, logLevel, optStr, str } from "../shared/config";
import { checkHealth, healthClient } from "../shared/grpc";
import { createLogger } from "../shared/log";

const ROOT = resolve(import.meta.dir, "../..");
const config = loadEnvOrExit("launcher", {
  gatewayPort: int("GATEWAY_PORT", 8000),
  webPort: int("WEB_PORT", 5173),
  storageGrpcAddr: str("STORAGE_GRPC_ADDR", "127.0.0.1:50051"),
  metadataGrpcAddr: str("METADATA_GRPC_ADDR", "127.0.0.1:50052"),
  publicGatewayUrl: optStr("PUBLIC_GATEWAY_URL"),
  webHost: str("WEB_HOST", "0.0.0.0"),
  logLevel: logLevel(),
  /** Set to 0 to skip the web app (backend only). */
  startWeb: int("CANDID_START_WEB", 1),
});
const log = createLogger({ service: "launcher" }, { level: config.logLevel });

const portOf = (addr: string) => addr.slice(addr.lastIndexOf(":") + 1);
const dial = (addr: string) => `127.0.0.1:${portOf(addr)}`;

interface ChildSpec {
  name: string;
  cmd: string[];
  env: Record<string, string>;
}

const bun = process.execPath;
const specs: Record<string, ChildSpec> = {
  metadata: { name: "metadata", cmd: [bun, "services/metadata/main.ts"], env: { METADATA_GRPC_ADDR: config.metadataGrpcAddr } },
  storage: { name: "storage", cmd: [bun, "services/storage/main.ts"], env: { STORAGE_GRPC_ADDR: config.storageGrpcAddr } },
  gateway: {
    name: "gateway",
    cmd: [bun, "services/gateway/main.ts"],
    env: {
      GATEWAY_PORT: String(config.gatewayPort),
      STORAGE_ADDR: dial(config.storageGrpcAddr),
      METADATA_ADDR: dial(config.metadataGrpcAddr),
      // Stopgap until the launcher persists generated secrets (issue 14): the environment's, else fresh per launch.
      CANDID_API_KEYS: process.env.CANDID_API_KEYS || randomBytes(32).toString("base64url"),
      CANDID_TOKEN_SECRETS: process.env.CANDID_TOKEN_SECRETS || randomBytes(32).toString("base64url"),
      CORS_ALLOWED_ORIGINS: process.env.CORS_ALLOWED_ORIGINS || `http://localhost:${config.webPort},http://127.0.0.1:${config.webPort}`,
    },
  },
  reaper: { name: "reaper", cmd: [bun, "services/reaper/main.ts"], env: { METADATA_ADDR: dial(config.metadataGrpcAddr) } },
  web: {
    name: "web",
    cmd: ["node", "web/build/index.js"],
    env: { PORT: String(config.webPort), HOST: config.webHost, PUBLIC_GATEWAY_URL: config.publicGatewayUrl ?? "", ORIGIN: "" },
  },
};

interface Running {
  spec: ChildSpec;
  proc: Subprocess | null;
  restarts: number;
  stopping: boolean;
}
const running = new Map<string, Running>();
let shuttingDown = false;

function start(r: Running) {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), ...r.spec.env };
  if (r.spec.name === "web" && !env.PUBLIC_GATEWAY_URL) delete env.PUBLIC_GATEWAY_URL;
  if (r.spec.name === "web" && !env.ORIGIN) delete env.ORIGIN;
  const proc = Bun.spawn(r.spec.cmd, { cwd: ROOT, env, stdout: "inherit", stderr: "inherit" });
  r.proc = proc;
  log.info("child started", { child: r.spec.name, pid: proc.pid, restarts: r.restarts });
  const startedAt = Date.now();
  void proc.exited.then((code) => {
    if (r.proc !== proc) return;
    r.proc = null;
    if (shuttingDown || r.stopping) return;
    // Back off 250 ms, doubling to 5 s; a child that ran for a minute starts the count again.
    if (Date.now() - startedAt > 60_000) r.restarts = 0;
    const delay = Math.min(5000, 250 * 2 ** r.restarts);
    r.restarts++;
    log.warn("child exited; restarting", { child: r.spec.name, code, signal: proc.signalCode, delayMs: delay });
    setTimeout(() => !shuttingDown && start(r), delay);
  });
}

function launch(name: string) {
  const r: Running = { spec: specs[name]!, proc: null, restarts: 0, stopping: false };
  running.set(name, r);
  start(r);
}

async function waitHealthy(addr: string, name: string, timeoutMs = 120_000) {
  const client = healthClient(dial(addr));
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      if (await checkHealth(client, 1000)) return;
      await Bun.sleep(200);
    }
    throw new Error(`${name} did not become healthy within ${timeoutMs} ms`);
  } finally {
    client.close();
  }
}

/** Newest mtime under dir (recursive), for "is the web build stale". */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

async function buildWebIfStale(): Promise<boolean> {
  if (!existsSync(join(ROOT, "web/svelte.config.js"))) {
    log.warn("web app not found; serving the backend only");
    return false;
  }
  const out = join(ROOT, "web/build/index.js");
  const sources = Math.max(newest(join(ROOT, "web/src")), newest(join(ROOT, "proto/wire")), statSync(join(ROOT, "web/svelte.config.js")).mtimeMs);
  if (existsSync(out) && statSync(out).mtimeMs >= sources) return true;
  log.info("building the web app");
  const t0 = Date.now();
  const build = Bun.spawn(["node", join(ROOT, "node_modules/vite/bin/vite.js"), "build", "--config", "web/vite.config.ts"], {
    cwd: ROOT,
    stdout: "ignore",
    stderr: "inherit",
  });
  if ((await build.exited) !== 0) throw new Error("web build failed");
  log.info("web app built", { durationMs: Date.now() - t0 });
  return true;
}

async function main() {
  const webBuilt = config.startWeb ? buildWebIfStale() : Promise.resolve(false);
  launch("metadata");
  launch("storage");
  await Promise.all([waitHealthy(config.metadataGrpcAddr, "metadata"), waitHealthy(config.storageGrpcAddr, "storage")]);
  launch("gateway");
  launch("reaper");
  if (await webBuilt) launch("web");
  log.info("candid is up", {
    gateway: `http://localhost:${config.gatewayPort}`,
    websocket: `ws://localhost:${config.gatewayPort}/ws/media-stream`,
    web: (await webBuilt) ? `http://localhost:${config.webPort}` : null,
  });
}

async function stopChild(name: string, timeoutMs = 15_000) {
  const r = running.get(name);
  if (!r?.proc) return;
  r.stopping = true;
  const proc = r.proc;
  proc.kill("SIGTERM");
  const t = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  await proc.exited;
  clearTimeout(t);
}

async function shutdown(signal: string, exitCode = 0) {
  if (shuttingDown) return;
  shuttingDown = true;
  log.info("stopping", { signal });
  await stopChild("gateway");
  await Promise.all(["reaper", "web"].map((n) => stopChild(n)));
  await Promise.all(["storage", "metadata"].map((n) => stopChild(n)));
  log.info("stopped");
  process.exit(exitCode);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));

main().catch((err) => {
  log.error("start failed", { err });
  void shutdown("error", 1);
});
