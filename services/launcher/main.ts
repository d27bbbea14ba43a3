/**
 * `npm start`: the whole product on one machine with embedded defaults (PGlite + local disk).
 *
 * A small supervisor: it starts metadata and storage, waits until both answer their gRPC health
 * check, then starts the gateway, the reaper and the web app (building the SvelteKit app first
 * when its build is missing or older than its sources). A child that dies is restarted with
 * backoff, so killing the gateway behaves like a pod restart. SIGINT/SIGTERM stop the gateway
 * first (it drains in-flight blobs), then the rest.
 *
 * Before anything starts it resolves the secrets (secrets.ts: the environment's, else
 * ./data/secrets.json's, else new ones written there). Each child gets only its allow-listed part
 * of the environment (child-env.ts) and only the secrets it needs: the gateway the API keys, the
 * token secrets and the internal token; storage, metadata and the reaper the internal token; the
 * web app's server side one API key and the gateway's URL. Storage, metadata and the ops ports
 * bind 127.0.0.1 unless STORAGE_HOST / METADATA_HOST / REAPER_HOST / GATEWAY_OPS_HOST say otherwise.
 *
 * Analysis: the processor starts with the gateway. Transcription runs when Python 3.10+ is on
 * the PATH (CANDID_TRANSCRIPTION=0 turns it off): the transcriber's virtualenv is made on the
 * first start by services/transcriber/setup-venv.sh (its pip progress shown, a few minutes), reused
 * after; the rest of the product is up meanwhile, and chunks stored before the transcriber
 * answers are transcribed once it does (the processor retries them). Without Python, one log line
 * says transcription is off and everything else runs.
 *
 * The web app follows GATEWAY_PORT: its pages get PUBLIC_GATEWAY_URL, its server side
 * CANDID_GATEWAY_URL, both on this machine's GATEWAY_PORT (PUBLIC_GATEWAY_URL given in the
 * environment wins). The gateway allows the web app's own origin in the forms a person types
 * (http://localhost:WEB_PORT, http://127.0.0.1:WEB_PORT) unless CORS_ALLOWED_ORIGINS is given.
 */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { environment, int, loadEnvOrExit, logLevel, optStr, str } from "../shared/config";
import { checkHealth, healthClient } from "../shared/grpc";
import { createLogger } from "../shared/log";
import { CHILD_ALLOW, childEnv } from "./child-env";
import { type ResolvedSecrets, resolveSecrets } from "./secrets";

const ROOT = resolve(import.meta.dir, "../..");
const config = loadEnvOrExit("launcher", {
  gatewayPort: int("GATEWAY_PORT", 8000),
  webPort: int("WEB_PORT", 5173),
  storageGrpcAddr: (env: Record<string, string | undefined>) => str("STORAGE_GRPC_ADDR", `${env.STORAGE_HOST || "127.0.0.1"}:50051`)(env),
  metadataGrpcAddr: (env: Record<string, string | undefined>) => str("METADATA_GRPC_ADDR", `${env.METADATA_HOST || "127.0.0.1"}:50052`)(env),
  publicGatewayUrl: optStr("PUBLIC_GATEWAY_URL"),
  corsAllowedOrigins: optStr("CORS_ALLOWED_ORIGINS"),
  webHost: str("WEB_HOST", "0.0.0.0"),
  logLevel: logLevel(),
  /** Set to 0 to skip the web app (backend only). */
  startWeb: int("CANDID_START_WEB", 1),
  /**
   * 1: the web app's review pages need no login for a browser on this machine (local mode, see
   * docs/web.md "Review"); 0: only reviewer-token links.
   */
  reviewLocal: int("CANDID_REVIEW_LOCAL", 1),
  /** Bind address of storage, metadata and the ops ports: this machine only. */
  storageHost: str("STORAGE_HOST", "127.0.0.1"),
  metadataHost: str("METADATA_HOST", "127.0.0.1"),
  reaperHost: str("REAPER_HOST", "127.0.0.1"),
  gatewayOpsHost: str("GATEWAY_OPS_HOST", "127.0.0.1"),
  /** 0: no transcriber (the processor still analyses voice activity, levels and faces). */
  transcription: int("CANDID_TRANSCRIPTION", 1),
  /** The transcriber's virtualenv (relative to the repository root), made on the first start. */
  transcriberVenv: str("CANDID_TRANSCRIBER_VENV", "./data/transcriber-venv"),
  transcriberPort: int("TRANSCRIBER_PORT", 50054),
  processorHost: str("PROCESSOR_HOST", "127.0.0.1"),
  /** Generated secrets live here (relative to the repository root). */
  secretsFile: str("CANDID_SECRETS_FILE", "./data/secrets.json"),
  apiKeys: optStr("CANDID_API_KEYS"),
  tokenSecrets: optStr("CANDID_TOKEN_SECRETS"),
  internalToken: optStr("CANDID_INTERNAL_TOKEN"),
  /** What the children may inherit, filtered per child by child-env.ts. */
  inherited: environment(),
});
const log = createLogger({ service: "launcher" }, { level: config.logLevel });

function secretsOrExit(): ResolvedSecrets {
  const file = resolve(ROOT, config.secretsFile);
  try {
    const r = resolveSecrets(file, { CANDID_API_KEYS: config.apiKeys, CANDID_TOKEN_SECRETS: config.tokenSecrets, CANDID_INTERNAL_TOKEN: config.internalToken });
    if (r.generated.length) log.info("secrets generated", { file, names: r.generated });
    return r;
  } catch (err) {
    log.error("cannot read the secrets file", { file, err: (err as Error).message });
    process.exit(2);
  }
}
const { secrets } = secretsOrExit();

const portOf = (addr: string) => addr.slice(addr.lastIndexOf(":") + 1);
const dial = (addr: string) => `127.0.0.1:${portOf(addr)}`;

interface ChildSpec {
  name: string;
  cmd: string[];
  env: Record<string, string>;
}

const bun = process.execPath;
const internalToken = secrets.CANDID_INTERNAL_TOKEN;
/** The web app's server side calls the gateway on this machine with the first API key. */
const webApiKey = secrets.CANDID_API_KEYS.split(",")[0]!.trim();
const specs: Record<string, ChildSpec> = {
  metadata: {
    name: "metadata",
    cmd: [bun, "services/metadata/main.ts"],
    env: { METADATA_HOST: config.metadataHost, METADATA_GRPC_ADDR: config.metadataGrpcAddr, CANDID_INTERNAL_TOKEN: internalToken },
  },
  storage: {
    name: "storage",
    cmd: [bun, "services/storage/main.ts"],
    env: { STORAGE_HOST: config.storageHost, STORAGE_GRPC_ADDR: config.storageGrpcAddr, CANDID_INTERNAL_TOKEN: internalToken },
  },
  gateway: {
    name: "gateway",
    cmd: [bun, "services/gateway/main.ts"],
    env: {
      GATEWAY_PORT: String(config.gatewayPort),
      GATEWAY_OPS_HOST: config.gatewayOpsHost,
      STORAGE_ADDR: dial(config.storageGrpcAddr),
      METADATA_ADDR: dial(config.metadataGrpcAddr),
      CANDID_API_KEYS: secrets.CANDID_API_KEYS,
      CANDID_TOKEN_SECRETS: secrets.CANDID_TOKEN_SECRETS,
      CANDID_INTERNAL_TOKEN: internalToken,
      // The web app's own origin; a CORS_ALLOWED_ORIGINS given in the environment is inherited instead.
      ...(config.corsAllowedOrigins === undefined ? { CORS_ALLOWED_ORIGINS: `http://localhost:${config.webPort},http://127.0.0.1:${config.webPort}` } : {}),
    },
  },
  reaper: {
    name: "reaper",
    cmd: [bun, "services/reaper/main.ts"],
    env: { REAPER_HOST: config.reaperHost, METADATA_ADDR: dial(config.metadataGrpcAddr), STORAGE_ADDR: dial(config.storageGrpcAddr), CANDID_INTERNAL_TOKEN: internalToken },
  },
  processor: {
    name: "processor",
    cmd: [bun, "services/processor/main.ts"],
    env: {
      PROCESSOR_HOST: config.processorHost,
      METADATA_ADDR: dial(config.metadataGrpcAddr),
      STORAGE_ADDR: dial(config.storageGrpcAddr),
      CANDID_INTERNAL_TOKEN: internalToken,
    },
  },
  transcriber: {
    name: "transcriber",
    cmd: [join(resolve(ROOT, config.transcriberVenv), "bin/python"), "services/transcriber/main.py"],
    env: { TRANSCRIBER_HOST: "127.0.0.1", TRANSCRIBER_PORT: String(config.transcriberPort), CANDID_INTERNAL_TOKEN: internalToken },
  },
  web: {
    name: "web",
    cmd: ["node", "web/build/index.js"],
    env: {
      PORT: String(config.webPort),
      HOST: config.webHost,
      PUBLIC_GATEWAY_URL: config.publicGatewayUrl ?? `http://127.0.0.1:${config.gatewayPort}`,
      ORIGIN: "",
      // Server side only (never a PUBLIC_ variable): never the token secrets or the internal token.
      CANDID_API_KEY: webApiKey,
      CANDID_GATEWAY_URL: `http://127.0.0.1:${config.gatewayPort}`,
      CANDID_REVIEW_LOCAL: config.reviewLocal === 1 ? "1" : "",
    },
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
  const env = childEnv(config.inherited, CHILD_ALLOW[r.spec.name] ?? [], r.spec.env);
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

/** Python 3.10 or newer on the PATH (what the transcriber needs), or why not. */
async function pythonForTranscriber(): Promise<{ ok: true } | { ok: false; why: string }> {
  try {
    const p = Bun.spawn(["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2]); sys.exit(0 if sys.version_info >= (3, 10) else 3)"], { stdout: "pipe", stderr: "ignore" });
    const version = (await new Response(p.stdout).text()).trim();
    const code = await p.exited;
    return code === 0 ? { ok: true } : { ok: false, why: `python3 is ${version}; the transcriber needs 3.10 or newer` };
  } catch {
    return { ok: false, why: "python3 is not on the PATH" };
  }
}

/** Makes (or reuses) the transcriber's virtualenv, then starts it. Never throws: without it, transcription is off. */
async function startTranscriber(): Promise<void> {
  const venv = resolve(ROOT, config.transcriberVenv);
  const t0 = Date.now();
  log.info("preparing the transcriber's virtualenv (the first start downloads its packages: a few minutes)", { venv });
  const setup = Bun.spawn(["bash", "services/transcriber/setup-venv.sh", venv], { cwd: ROOT, stdout: "inherit", stderr: "inherit", env: childEnv(config.inherited, ["PIP_*"], {}) });
  const code = await setup.exited;
  if (shuttingDown) return;
  if (code !== 0) {
    log.warn("transcription is off: the transcriber's virtualenv could not be made", { code, venv });
    return;
  }
  log.info("transcriber virtualenv ready", { durationMs: Date.now() - t0 });
  launch("transcriber");
}

async function main() {
  const webBuilt = config.startWeb ? buildWebIfStale() : Promise.resolve(false);
  const hosted = config.inherited.TRANSCRIBER_OPENAI_URL;
  const python = !config.transcription
    ? ({ ok: false, why: "CANDID_TRANSCRIPTION=0" } as const)
    : hosted
      ? ({ ok: false, why: "TRANSCRIBER_OPENAI_URL is set: the processor uses that API" } as const)
      : await pythonForTranscriber();
  launch("metadata");
  launch("storage");
  await Promise.all([waitHealthy(config.metadataGrpcAddr, "metadata"), waitHealthy(config.storageGrpcAddr, "storage")]);
  launch("gateway");
  launch("reaper");
  if (python.ok) {
    specs.processor!.env.TRANSCRIBER_ADDR = `127.0.0.1:${config.transcriberPort}`;
    void startTranscriber();
  } else if (!hosted) {
    log.warn("transcription is off; voice activity, levels and faces are still analysed", { why: python.why });
  }
  launch("processor");
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
  await Promise.all(["reaper", "web", "processor", "transcriber"].map((n) => stopChild(n)));
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
