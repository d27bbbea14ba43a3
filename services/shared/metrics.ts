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

/** One label set of a metric: a value for each of its label names. */
export type LabelSet<L extends string> = Readonly<Record<L, string>>;

/**
 * One metric of a `defineMetrics` shape: what it is (for docs/metrics.md, metrics-doc.ts) and how
 * to build it on a registry once its name is checked.
 */
export interface MetricSpec<M> {
  readonly type: "counter" | "gauge" | "histogram";
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  /** The label sets that exist (at 0) from registration on. */
  readonly initial: readonly Readonly<Record<string, string>>[];
  readonly buckets?: readonly number[];
  build(registry: Registry): M;
}

/**
 * Labels of a metric and the label sets it starts with. A labelled counter must list its known
 * label sets (`initial`): a counter series born at its first increment is invisible to rate() and
 * increase() for that first step, and a ratio or `absent`-free alert over it cannot fire before
 * the first event. `labelSets` builds the cross product of value lists.
 */
type Labelled<L extends string> = { labelNames: readonly L[]; initial: readonly LabelSet<L>[] };
type OptionalInitial<L extends string> = { labelNames: readonly L[]; initial?: readonly LabelSet<L>[] };

/** Every combination of the given label values: labelSets({ kind: ["audio", "frame"], outcome: ["ok"] }). */
export function labelSets<L extends string>(values: { readonly [K in L]: readonly string[] }): LabelSet<L>[] {
  let out: Array<Record<string, string>> = [{}];
  for (const [label, vals] of Object.entries(values) as Array<[string, readonly string[]]>) {
    out = out.flatMap((set) => vals.map((v) => ({ ...set, [label]: v })));
  }
  return out as LabelSet<L>[];
}

function checkInitial(name: string, labelNames: readonly string[], initial: readonly Readonly<Record<string, string>>[]) {
  for (const set of initial) {
    const keys = Object.keys(set).sort();
    if (keys.join() !== [...labelNames].sort().join()) throw new Error(`${name}: initial label set ${JSON.stringify(set)} must name exactly ${labelNames.join(", ")}`);
  }
}

/**
 * A monotonically increasing count; its name ends in `_total`. Without labels it starts at 0;
 * with labels, every set of `initial` starts at 0 (required: see Labelled).
 */
export function counter(name: string, help: string): MetricSpec<Counter<never>>;
export function counter<L extends string>(name: string, help: string, opts: Labelled<L>): MetricSpec<Counter<L>>;
export function counter<L extends string>(name: string, help: string, opts?: Labelled<L>): MetricSpec<Counter<L>> {
  const labelNames = opts?.labelNames ?? [];
  const initial = opts?.initial ?? [];
  if (labelNames.length > 0 && initial.length === 0) throw new Error(`${name}: a labelled counter needs its initial label sets`);
  checkInitial(name, labelNames, initial);
  return {
    type: "counter",
    name,
    help,
    labelNames,
    initial,
    build: (r) => {
      const c = new Counter<L>({ name, help, labelNames: [...labelNames], registers: [r] });
      for (const set of initial) c.inc(set as LabelSet<L>, 0);
      return c;
    },
  };
}

/** A value that goes up and down (open connections). Labelled gauges may list `initial` sets (set to 0). */
export function gauge(name: string, help: string): MetricSpec<Gauge<never>>;
export function gauge<L extends string>(name: string, help: string, opts: OptionalInitial<L>): MetricSpec<Gauge<L>>;
export function gauge<L extends string>(name: string, help: string, opts?: OptionalInitial<L>): MetricSpec<Gauge<L>> {
  const labelNames = opts?.labelNames ?? [];
  const initial = opts?.initial ?? [];
  checkInitial(name, labelNames, initial);
  return {
    type: "gauge",
    name,
    help,
    labelNames,
    initial,
    build: (r) => {
      const g = new Gauge<L>({ name, help, labelNames: [...labelNames], registers: [r] });
      for (const set of initial) g.set(set as LabelSet<L>, 0);
      return g;
    },
  };
}

/** A distribution over fixed buckets (durations in seconds: LATENCY_BUCKETS_SECONDS). `initial` sets start empty (count 0). */
export function histogram<L extends string = never>(
  name: string,
  help: string,
  opts: Partial<OptionalInitial<L>> & { buckets: readonly number[] },
): MetricSpec<Histogram<L>> {
  const labelNames = opts.labelNames ?? [];
  const initial = opts.initial ?? [];
  checkInitial(name, labelNames, initial);
  return {
    type: "histogram",
    name,
    help,
    labelNames,
    initial,
    buckets: opts.buckets,
    build: (r) => {
      const h = new Histogram<L>({ name, help, labelNames: [...labelNames], buckets: [...opts.buckets], registers: [r] });
      for (const set of initial) h.zero(set as LabelSet<L>);
      return h;
    },
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
 *   puts: counter("candid_storage_puts_total", "PutBlobs items.", {
 *     labelNames: ["kind", "outcome"],
 *     initial: labelSets({ kind: ["audio", "frame"], outcome: ["created", "identical"] }),
 *   }),
 * });
 * const metrics = storageMetrics(createRegistry("storage"));
 * metrics.puts.inc({ kind: "audio", outcome: "created" });
 */
export function defineMetrics<S extends Shape>(service: string, shape: S): MetricsDefinition<S> {
  const problems = Object.values(shape).flatMap((spec) => metricNameProblem(service, spec) ?? []);
  if (problems.length) throw new Error(`bad metric names:\n  ${problems.join("\n  ")}`);
  const define = (registry: Registry) => {
    const out: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(shape)) out[key] = spec.build(registry);
    return Object.freeze(out) as Metrics<S>;
  };
  return Object.assign(define, { service, specs: Object.values(shape) as readonly MetricSpec<unknown>[] });
}

/** What defineMetrics returns: the registering function, plus what it declares (for metrics-doc.ts). */
export type MetricsDefinition<S extends Shape> = ((registry: Registry) => Metrics<S>) & {
  readonly service: string;
  readonly specs: readonly MetricSpec<unknown>[];
};

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
