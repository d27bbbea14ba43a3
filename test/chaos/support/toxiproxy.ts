/**
 * @module chaos/toxiproxy
 * A fault proxy between the clients and the gateway: toxiproxy-server (Shopify, MIT; a Go module
 * built by test/install-tools.sh into ~/.cache/candid-tools) driven through its HTTP API
 * (github.com/Shopify/toxiproxy README, "HTTP API"): proxies, and toxics on them (latency,
 * bandwidth, reset_peer, timeout, ...), added and removed while the clients stream.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, pump } from "../../support/procs";
import { TOOLS_DIR } from "../../support/s3";

export const TOXIPROXY_BIN = join(TOOLS_DIR, "toxiproxy-server");

export interface Toxic {
  name: string;
  type: "latency" | "bandwidth" | "reset_peer" | "timeout" | "slow_close" | "slicer" | "limit_data";
  /** upstream = client -> gateway, downstream = gateway -> client */
  stream?: "upstream" | "downstream";
  toxicity?: number;
  attributes: Record<string, number>;
}

export interface Proxy {
  name: string;
  /** host:port the clients connect to */
  listen: string;
  addToxic(t: Toxic): Promise<void>;
  removeToxic(name: string): Promise<void>;
  /** false: every connection is closed and new ones are refused (a cut); true: back. */
  setEnabled(enabled: boolean): Promise<void>;
}

export interface Toxiproxy {
  apiUrl: string;
  /** `listen`: host:port to listen on (default: a free port on 127.0.0.1), e.g. one chosen before the upstream started. */
  createProxy(name: string, upstream: string, listen?: string): Promise<Proxy>;
  stop(): Promise<void>;
}

async function api(url: string, method: string, body?: unknown): Promise<unknown> {
  const r = await fetch(url, { method, headers: { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!r.ok) throw new Error(`toxiproxy ${method} ${url}: HTTP ${r.status} ${await r.text()}`);
  return r.status === 204 ? null : r.json();
}

export async function startToxiproxy(): Promise<Toxiproxy> {
  if (!existsSync(TOXIPROXY_BIN)) throw new Error(`toxiproxy-server not found at ${TOXIPROXY_BIN}: run \`bash test/install-tools.sh\``);
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const out: string[] = [];
  const proc: Subprocess = Bun.spawn([TOXIPROXY_BIN, "-host", "127.0.0.1", "-port", String(port)], { stdout: "pipe", stderr: "pipe" });
  void pump(proc.stdout as ReadableStream<Uint8Array>, out);
  void pump(proc.stderr as ReadableStream<Uint8Array>, out);
  const stop = async () => {
    if (proc.exitCode === null && !proc.signalCode) {
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await proc.exited;
      clearTimeout(t);
    }
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`toxiproxy-server exited with ${proc.exitCode}:\n${out.join("")}`);
    const up = await fetch(`${apiUrl}/version`, { signal: AbortSignal.timeout(500) }).then((r) => r.ok, () => false);
    if (up) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`toxiproxy-server did not answer on ${apiUrl}:\n${out.join("")}`);
    }
    await Bun.sleep(100);
  }
  return {
    apiUrl,
    async createProxy(name, upstream, listenAt) {
      const listen = listenAt ?? `127.0.0.1:${await freePort()}`;
      await api(`${apiUrl}/proxies`, "POST", { name, listen, upstream, enabled: true });
      const at = `${apiUrl}/proxies/${name}`;
      return {
        name,
        listen,
        async addToxic(t) {
          await api(`${at}/toxics`, "POST", { stream: "downstream", toxicity: 1, ...t });
        },
        async removeToxic(toxic) {
          await api(`${at}/toxics/${toxic}`, "DELETE");
        },
        async setEnabled(enabled) {
          await api(at, "POST", { enabled });
        },
      };
    },
    stop,
  };
}
