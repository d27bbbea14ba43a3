/**
 * @module procs
 * Starts Candid services as separate OS processes for integration tests, the way `npm start`
 * does: `bun services/<name>/main.ts` with env vars. Captures their output (JSON logs) for
 * assertions and for printing when a test fails, and always kills them afterwards.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { resolve } from "node:path";
import type { Subprocess } from "bun";
import { checkHealth, healthClient } from "../../services/shared/grpc";

export const REPO_ROOT = resolve(import.meta.dir, "../..");

/**
 * The internal gRPC token of every service this test process starts (startService passes it
 * unless the test's env says otherwise); clients use it through internalClient.
 */
export const TEST_INTERNAL_TOKEN = randomBytes(32).toString("base64url");

/** Ports this test process has handed out: the kernel may offer a released port again. */
const handedOut = new Set<number>();

/**
 * A free TCP port on 127.0.0.1 (bound then released), never one this process handed out before:
 * two services started at once must not both get the port the first one has not bound yet.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((res, rej) => {
      const srv = createServer();
      srv.unref();
      srv.on("error", rej);
      srv.listen(0, "127.0.0.1", () => {
        const addr = srv.address();
        srv.close(() => (typeof addr === "object" && addr ? res(addr.port) : rej(new Error("no port"))));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

export interface ServiceProc {
  name: string;
  proc: Subprocess;
  /** Everything the process wrote so far (stdout + stderr). */
  output(): string;
  /** Parsed JSON log lines so far. */
  logs(): Array<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Collects a child's output into sink (and echoes it when asked). */
export async function pump(stream: ReadableStream<Uint8Array> | null | undefined, sink: string[], echo = false, name = "") {
  if (!stream) return;
  const dec = new TextDecoder();
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const text = dec.decode(value, { stream: true });
    sink.push(text);
    if (echo) process.stderr.write(text.replace(/^/gm, `[${name}] `));
  }
}

/**
 * Spawns `bun <entry>` with env (merged over process.env and CANDID_INTERNAL_TOKEN =
 * TEST_INTERNAL_TOKEN) and waits until `ready()` is true.
 * Set CANDID_TEST_ECHO=1 to see service output live.
 */
export async function startService(opts: {
  name: string;
  entry: string;
  env: Record<string, string>;
  ready: () => Promise<boolean>;
  timeoutMs?: number;
  /** A command other than `bun <entry>` (e.g. the Python transcriber from its venv); entry is then unused. */
  cmd?: string[];
}): Promise<ServiceProc> {
  const chunks: string[] = [];
  const echo = process.env.CANDID_TEST_ECHO === "1";
  // CANDID_PROFILE_DIR=dir: every service writes a CPU profile (Markdown) there when it exits.
  const prof = process.env.CANDID_PROFILE_DIR;
  const flags = prof ? ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${prof}`, `--cpu-prof-name=${opts.name}.md`] : [];
  const proc = Bun.spawn(opts.cmd ?? [process.execPath, ...flags, resolve(REPO_ROOT, opts.entry)], {
    cwd: REPO_ROOT,
    env: { ...process.env, CANDID_INTERNAL_TOKEN: TEST_INTERNAL_TOKEN, ...opts.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  void pump(proc.stdout as ReadableStream<Uint8Array>, chunks, echo, opts.name);
  void pump(proc.stderr as ReadableStream<Uint8Array>, chunks, echo, opts.name);
  const svc: ServiceProc = {
    name: opts.name,
    proc,
    output: () => chunks.join(""),
    logs: () =>
      chunks
        .join("")
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .flatMap((l) => {
          try {
            return [JSON.parse(l)];
          } catch {
            return [];
          }
        }),
    async stop(signal = "SIGTERM") {
      if (proc.exitCode !== null || proc.signalCode) return proc.exitCode;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      const code = await proc.exited;
      clearTimeout(t);
      return code;
    },
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${opts.name} exited with ${proc.exitCode} during start:\n${svc.output()}`);
    if (await opts.ready().catch(() => false)) return svc;
    await Bun.sleep(100);
  }
  await svc.stop("SIGKILL");
  throw new Error(`${opts.name} not ready after ${opts.timeoutMs ?? 30_000} ms:\n${svc.output()}`);
}

/** GET url and true on a 2xx. */
export async function httpOk(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return r.ok;
  } catch {
    return false;
  }
}

/** A short random id for names of test databases, buckets and folders. */
export function testId(prefix = "t"): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

/** True when the gRPC server at addr answers grpc.health.v1 SERVING (a service's `ready` probe). */
export async function grpcReady(addr: string): Promise<boolean> {
  const c = healthClient(addr);
  try {
    return await checkHealth(c, 500);
  } finally {
    c.close();
  }
}
