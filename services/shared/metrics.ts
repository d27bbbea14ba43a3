/**
 * @module metrics
 * Prometheus metrics with prom-client, declared one way in every service: each service's
 * `adapters/metrics.ts` calls `defineMetrics(service, { key: counter(…), … })` and gets back a
 * function that registers them on that service's Registry and returns them, typed, by key
 * (the shape of config.ts's `loadEnv`).
 *
 * Names follow namespace_subsystem_name_unit: `candid_<service>_<what>_<unit>` (`_seconds`,
 * `_bytes`), `_total` only on counters. `defineMetrics` rejects a name that breaks the rule when
 * the service starts (and in its unit test), so a dashboard never meets a surprise. Each
 * service owns one Registry (default process metrics included) and serves it at GET /metrics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export const NAMESPACE = "candid";

export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: `${NAMESPACE}_` });
  return registry;
}

/** Latency buckets in seconds, from 1 ms to 10 s: acks are expected in the 5-100 ms range. */
export const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Batch-size buckets (items per commit). */
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/** One metric of a `defineMetrics` shape: builds it on a registry once its name is checked. */
export interface MetricSpec<M> {
  readonly type: "counter" | "gauge" | "histogram";
  readonly name: string;
  build(registry: Registry): M;
}

interface Options<L extends string> {
  labelNames?: readonly L[];
}

/** A monotonically increasing count; its name ends in `_total`. */
export function counter<L extends string = never>(name: string, help: string, opts: Options<L> = {}): MetricSpec<Counter<L>> {
  return { type: "counter", name, build: (r) => new Counter<L>({ name, help, labelNames: opts.labelNames ?? [], registers: [r] }) };
}

/** A value that goes up and down (open connections). */
export function gauge<L extends string = never>(name: string, help: string, opts: Options<L> = {}): MetricSpec<Gauge<L>> {
  return { type: "gauge", name, build: (r) => new Gauge<L>({ name, help, labelNames: opts.labelNames ?? [], registers: [r] }) };
}

/** A distribution over fixed buckets (durations in seconds: LATENCY_BUCKETS_SECONDS). */
export function histogram<L extends string = never>(
  name: string,
  help: string,
  opts: Options<L> & { buckets: readonly number[] },
): MetricSpec<Histogram<L>> {
  return {
    type: "histogram",
    name,
    build: (r) => new Histogram<L>({ name, help, labelNames: opts.labelNames ?? [], buckets: [...opts.buckets], registers: [r] }),
  };
}

/** The problem with a metric's name, or null: the naming rule of this module's header. */
export function metricNameProblem(service: string, spec: { type: MetricSpec<unknown>["type"]; name: string }): string | null {
  const prefix = `${NAMESPACE}_${service}_`;
  if (!spec.name.startsWith(prefix)) return `${spec.name} must start with ${prefix}`;
  if (!/^[a-z][a-z0-9_]*[a-z0-9]$/.test(spec.name) || spec.name.includes("__")) return `${spec.name} must be snake_case`;
  const total = spec.name.endsWith("_total");
  if (spec.type === "counter" && !total) return `counter ${spec.name} must end in _total`;
  if (spec.type !== "counter" && total) return `${spec.type} ${spec.name} must not end in _total (counters only)`;
  return null;
}

type Shape = Record<string, MetricSpec<unknown>>;
export type Metrics<S extends Shape> = { readonly [K in keyof S]: S[K] extends MetricSpec<infer M> ? M : never };

/**
 * A service's metrics, declared once. Names are checked here, at module load; the returned
 * function registers every metric on `registry` and returns them by key.
 *
 * @example
 * export const storageMetrics = defineMetrics("storage", {
 *   puts: counter("candid_storage_puts_total", "PutBlobs items.", { labelNames: ["kind", "outcome"] }),
 * });
 * const metrics = storageMetrics(createRegistry("storage"));
 * metrics.puts.inc({ kind: "audio", outcome: "created" });
 */
export function defineMetrics<S extends Shape>(service: string, shape: S): (registry: Registry) => Metrics<S> {
  const problems = Object.values(shape).flatMap((spec) => metricNameProblem(service, spec) ?? []);
  if (problems.length) throw new Error(`bad metric names:\n  ${problems.join("\n  ")}`);
  return (registry) => {
    const out: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(shape)) out[key] = spec.build(registry);
    return Object.freeze(out) as Metrics<S>;
  };
}

/**
 * Every series name a registry exports, as PromQL sees them: a histogram `x` is `x_bucket`,
 * `x_sum` and `x_count`. For checks that dashboards and alert rules query only what exists.
 */
export function seriesNames(registry: Registry): string[] {
  return registry.getMetricsAsArray().flatMap((m) => {
    const { name, type } = m as unknown as { name: string; type: string };
    if (type === "histogram") return [`${name}_bucket`, `${name}_sum`, `${name}_count`];
    if (type === "summary") return [name, `${name}_sum`, `${name}_count`];
    return [name];
  });
}

export async function metricsResponse(registry: Registry): Promise<Response> {
  return new Response(await registry.metrics(), { headers: { "content-type": registry.contentType } });
}

/**
 * A tiny HTTP server for services whose main protocol is gRPC: /metrics, /healthz and /readyz.
 * `ready` decides /readyz (e.g. "the database answers").
 */
export function serveOpsHttp(opts: { port: number; hostname?: string; registry: Registry; ready: () => Promise<boolean> }) {
  return Bun.serve({
    port: opts.port,
    hostname: opts.hostname ?? "0.0.0.0",
    async fetch(req) {
      const { pathname } = new URL(req.url);
      if (pathname === "/metrics") return metricsResponse(opts.registry);
      if (pathname === "/healthz") return Response.json({ status: "ok" });
      if (pathname === "/readyz") {
        const ok = await opts.ready().catch(() => false);
        return Response.json({ status: ok ? "ready" : "not_ready" }, { status: ok ? 200 : 503 });
      }
      return Response.json({ type: "error", code: "NOT_FOUND", message: "no such route" }, { status: 404 });
    },
  });
}
