import { describe, expect, test } from "bun:test";
import { Registry } from "prom-client";
import { LATENCY_BUCKETS_SECONDS, counter, defineMetrics, gauge, histogram, labelSets, metricNameProblem, seriesNames } from "./metrics";

describe("defineMetrics", () => {
  test("registers every metric on the given registry and returns them by key", async () => {
    const define = defineMetrics("demo", {
      hits: counter("candid_demo_hits_total", "Hits.", { labelNames: ["route"], initial: [{ route: "/a" }] }),
      open: gauge("candid_demo_open", "Open things."),
      latency: histogram("candid_demo_latency_seconds", "Latency.", { buckets: LATENCY_BUCKETS_SECONDS }),
    });
    const registry = new Registry();
    const m = define(registry);
    m.hits.inc({ route: "/a" });
    m.open.set(3);
    m.latency.observe(0.02);
    const text = await registry.metrics();
    expect(text).toContain('candid_demo_hits_total{route="/a"} 1');
    expect(text).toContain("candid_demo_open 3");
    expect(text).toContain("candid_demo_latency_seconds_count 1");
    // a second registry gets its own instances (one per service process, one per test)
    const other = define(new Registry());
    expect(other.hits).not.toBe(m.hits);
  });

  test("names follow candid_<service>_<name>_<unit>, _total on counters only", () => {
    expect(metricNameProblem("demo", { type: "counter", name: "candid_demo_hits_total" })).toBeNull();
    expect(metricNameProblem("demo", { type: "counter", name: "candid_demo_hits" })).toMatch(/must end in _total/);
    expect(metricNameProblem("demo", { type: "gauge", name: "candid_demo_open_total" })).toMatch(/counters only/);
    expect(metricNameProblem("demo", { type: "histogram", name: "candid_other_latency_seconds" })).toMatch(/must start with candid_demo_/);
    expect(metricNameProblem("demo", { type: "gauge", name: "candid_demo_Open" })).toMatch(/snake_case/);
    expect(() => defineMetrics("demo", { x: counter("candid_demo_x", "X.") })).toThrow(/candid_demo_x must end in _total/);
  });

  test("seriesNames lists what PromQL sees: a histogram's _bucket, _sum and _count", () => {
    const registry = new Registry();
    defineMetrics("demo", { latency: histogram("candid_demo_latency_seconds", "Latency.", { buckets: [1] }), n: counter("candid_demo_n_total", "N.") })(registry);
    expect(seriesNames(registry).sort()).toEqual(["candid_demo_latency_seconds_bucket", "candid_demo_latency_seconds_count", "candid_demo_latency_seconds_sum", "candid_demo_n_total"]);
  });

  test("labelled counters start at 0 for every initial label set; histograms and gauges may", async () => {
    const registry = new Registry();
    const m = defineMetrics("demo", {
      puts: counter("candid_demo_puts_total", "Puts.", { labelNames: ["kind", "outcome"], initial: labelSets({ kind: ["audio", "frame"], outcome: ["created", "error"] }) }),
      plain: counter("candid_demo_plain_total", "Plain."),
      latency: histogram("candid_demo_latency_seconds", "Latency.", { labelNames: ["kind"], initial: [{ kind: "audio" }], buckets: [1] }),
      level: gauge("candid_demo_level", "Level.", { labelNames: ["pool"], initial: [{ pool: "main" }] }),
    })(registry);
    const text = await registry.metrics();
    for (const kind of ["audio", "frame"]) for (const outcome of ["created", "error"]) expect(text).toContain(`candid_demo_puts_total{kind="${kind}",outcome="${outcome}"} 0`);
    expect(text).toContain("candid_demo_plain_total 0");
    expect(text).toContain('candid_demo_latency_seconds_count{kind="audio"} 0');
    expect(text).toContain('candid_demo_level{pool="main"} 0');
    m.puts.inc({ kind: "audio", outcome: "created" });
    expect(await registry.metrics()).toContain('candid_demo_puts_total{kind="audio",outcome="created"} 1');
  });

  test("a labelled counter without initial label sets, or with a wrong one, is refused", () => {
    // @ts-expect-error initial is required once there are labels
    expect(() => counter("candid_demo_x_total", "X.", { labelNames: ["a"] })).toThrow(/needs its initial label sets/);
    // @ts-expect-error a set must name every label
    expect(() => counter("candid_demo_x_total", "X.", { labelNames: ["a", "b"], initial: [{ a: "1" }] })).toThrow(/must name exactly a, b/);
    expect(labelSets({ a: ["1", "2"], b: ["x"] })).toEqual([{ a: "1", b: "x" }, { a: "2", b: "x" }]);
  });

  test("a definition lists what it declares (for docs/metrics.md)", () => {
    const define = defineMetrics("demo", { n: counter("candid_demo_n_total", "N."), g: gauge("candid_demo_g", "G.") });
    expect(define.service).toBe("demo");
    expect(define.specs.map((s) => [s.type, s.name, s.help])).toEqual([["counter", "candid_demo_n_total", "N."], ["gauge", "candid_demo_g", "G."]]);
  });
});
