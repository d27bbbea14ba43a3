/**
 * A real Prometheus (Debian's `prometheus`) against a running stack: gateway, storage, metadata,
 * reaper and processor (no transcriber: the dashboard has no transcriber panel), each its own process, scraped every second with the labels the chart's
 * ServiceMonitors give them (namespace, pod), the chart's rule file loaded. After a little traffic
 * (one recorded session, one refused message), every recording rule and every dashboard query
 * must return at least one series, and every rule must be healthy: a dashboard panel over a
 * metric nobody exports, a label that is never set or a misspelt rule shows up here, not on an
 * SRE's empty graph.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { freePort, httpOk, pump, REPO_ROOT, type ServiceProc, startService } from "../support/procs";
import { type Stack, startStack } from "../support/stack";
import { fakeJpeg, fakeWebm, TestClient } from "../support/ws-client";

const CHART = resolve(REPO_ROOT, "helm/candid");
const NAMESPACE = "candid-prom-test";
const T0 = "2025-12-16T10:00:00.000Z";

let stack: Stack;
let reaper: ServiceProc;
let processor: ServiceProc;
let prom: Subprocess | null = null;
let promUrl = "";
let dir = "";
const promOut: string[] = [];

async function query(expr: string): Promise<{ status: string; data?: { result: unknown[] }; error?: string }> {
  const r = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await r.json()) as { status: string; data?: { result: unknown[] }; error?: string };
}

/** Every PromQL expression of the dashboard, with Grafana's variables filled in as Grafana would. */
function dashboardQueries(): Array<{ panel: string; expr: string }> {
  const d = JSON.parse(readFileSync(join(CHART, "dashboards/candid.json"), "utf8")) as { panels: Array<{ title: string; targets?: Array<{ expr?: string }>; panels?: unknown[] }> };
  const out: Array<{ panel: string; expr: string }> = [];
  const walk = (panels: typeof d.panels) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ panel: p.title, expr: t.expr.replaceAll("$namespace", NAMESPACE).replaceAll("$__rate_interval", "1m").replaceAll("$__range", "5m").replaceAll("$__interval", "1m") });
      if (p.panels) walk(p.panels as typeof d.panels);
    }
  };
  walk(d.panels);
  return out;
}

function recordingRules(): string[] {
  const text = readFileSync(join(CHART, "rules/candid.rules.yaml"), "utf8");
  const doc = Bun.YAML.parse(text) as { groups: Array<{ rules: Array<{ record?: string }> }> };
  return doc.groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : [])));
}

beforeAll(async () => {
  stack = await startStack({ logLevel: "error" });
  const reaperPort = await freePort();
  reaper = await startService({
    name: "reaper",
    entry: "services/reaper/main.ts",
    env: { METADATA_ADDR: stack.metadataAddr, STORAGE_ADDR: stack.storageAddr, REAPER_HOST: "127.0.0.1", REAPER_METRICS_PORT: String(reaperPort), REAPER_INTERVAL_MS: "500", REAPER_ORPHAN_INTERVAL_MS: "1000", LOG_LEVEL: "error" },
    ready: () => httpOk(`http://127.0.0.1:${reaperPort}/readyz`),
  });
  const processorPort = await freePort();
  processor = await startService({
    name: "processor",
    entry: "services/processor/main.ts",
    env: { METADATA_ADDR: stack.metadataAddr, STORAGE_ADDR: stack.storageAddr, PROCESSOR_HOST: "127.0.0.1", PROCESSOR_METRICS_PORT: String(processorPort), PROCESSOR_POLL_MS: "200", LOG_LEVEL: "error" },
    ready: () => httpOk(`http://127.0.0.1:${processorPort}/readyz`),
    timeoutMs: 60_000,
  });
  dir = mkdtempSync(join(tmpdir(), "candid-prom-"));
  const target = (pod: string, url: string) => {
    const u = new URL(url);
    return { targets: [u.host], labels: { namespace: NAMESPACE, pod, job: pod.replace(/-0$/, "") } };
  };
  const config = {
    global: { scrape_interval: "1s", evaluation_interval: "1s" },
    rule_files: [join(CHART, "rules/candid.rules.yaml")],
    scrape_configs: [
      {
        job_name: "candid",
        static_configs: [
          target("gateway-0", stack.gatewayMetricsUrl),
          target("storage-0", stack.storageMetricsUrl),
          target("metadata-0", stack.metadataMetricsUrl),
          target("reaper-0", `http://127.0.0.1:${reaperPort}/metrics`),
          target("processor-0", `http://127.0.0.1:${processorPort}/metrics`),
        ],
      },
    ],
  };
  writeFileSync(join(dir, "prometheus.yml"), JSON.stringify(config)); // JSON is YAML
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prom = Bun.spawn(["prometheus", `--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"], { stdout: "pipe", stderr: "pipe" });
  void pump(prom.stdout as ReadableStream<Uint8Array>, promOut);
  void pump(prom.stderr as ReadableStream<Uint8Array>, promOut);
  for (let i = 0; i < 100 && !(await httpOk(`${promUrl}/-/ready`)); i++) await Bun.sleep(100);
  // Prometheus applies discovered targets every 5 s: wait for the first scrape of all five.
  for (let i = 0; i < 150 && ((await query("up")).data?.result.length ?? 0) < 5; i++) await Bun.sleep(100);

  // Traffic: one interview, a session with chunks and frames, a completion, one refused message.
  const iv = await stack.api.createInterview("prometheus");
  const sid = crypto.randomUUID();
  const c = await TestClient.connect(stack.wsUrl);
  c.send({ type: "session_init", session_id: sid, timestamp: T0, token: await stack.api.mintToken(iv, 1, { sessionId: sid }) });
  await c.next((m) => m.type === "session_init_ack");
  for (let i = 0; i < 3; i++) {
    const a = fakeWebm(4000, i);
    c.send({ type: "audio_metadata", session_id: sid, chunk_index: i, start_timestamp: T0, end_timestamp: T0, duration_ms: 10_000, size: a.length });
    c.sendBlob(sid, "audio", i, a);
    await c.next((m) => m.type === "audio_ack" && m.chunk_index === i);
    const f = fakeJpeg(2000, i);
    c.send({ type: "frame_metadata", session_id: sid, frame_index: i, chunk_index: i, timestamp: T0, offset_ms: 0, size: f.length });
    c.sendBlob(sid, "frame", i, f);
    await c.next((m) => m.type === "frame_ack" && m.frame_index === i);
  }
  c.send({ type: "audio_metadata", session_id: sid, chunk_index: 9, start_timestamp: T0, end_timestamp: T0, duration_ms: 10_000, size: 999_999_999 });
  await c.next((m) => m.type === "error");
  c.send({ type: "session_complete", session_id: sid, total_chunks: 3, total_frames: 3 });
  await c.next((m) => m.type === "session_complete_ack");
  c.close();
  // Two scrapes after the traffic, and rule evaluations over them.
  await Bun.sleep(4000);
}, 120_000);

afterAll(async () => {
  prom?.kill("SIGKILL");
  await prom?.exited;
  await reaper?.stop();
  await processor?.stop();
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("every target is up", async () => {
  const r = await query("up");
  const ups = (r.data?.result ?? []) as Array<{ metric: { pod: string }; value: [number, string] }>;
  expect(ups.map((u) => `${u.metric.pod}=${u.value[1]}`).sort()).toEqual(["gateway-0=1", "metadata-0=1", "processor-0=1", "reaper-0=1", "storage-0=1"]);
});

test("the rule file loads and every rule evaluates without error", async () => {
  const r = (await (await fetch(`${promUrl}/api/v1/rules`)).json()) as { data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> } };
  const rules = r.data.groups.flatMap((g) => g.rules);
  expect(rules.length).toBeGreaterThan(0);
  expect(rules.filter((x) => x.health !== "ok").map((x) => `${x.name}: ${x.health} ${x.lastError ?? ""}`)).toEqual([]);
});

test("every recording rule returns a series", async () => {
  const empty: string[] = [];
  for (const record of recordingRules()) {
    const r = await query(record);
    if (r.status !== "success" || (r.data?.result.length ?? 0) === 0) empty.push(`${record}: ${r.error ?? "no series"}`);
  }
  expect(empty).toEqual([]);
});

test("every dashboard query returns a series", async () => {
  const queries = dashboardQueries();
  expect(queries.length).toBeGreaterThan(10);
  const empty: string[] = [];
  for (const { panel, expr } of queries) {
    const r = await query(expr);
    if (r.status !== "success" || (r.data?.result.length ?? 0) === 0) empty.push(`${panel}: ${expr} (${r.error ?? "no series"})`);
  }
  if (empty.length) console.log(`prometheus output:\n${promOut.join("").slice(-2000)}`);
  expect(empty).toEqual([]);
  console.log(`prometheus: ${queries.length} dashboard queries and ${recordingRules().length} recording rules return series`);
});
