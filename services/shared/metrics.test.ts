import { describe, expect, test } from "bun:test";
import { Registry } from "prom-client";
import { LATENCY_BUCKETS_SECONDS, counter, defineMetrics, gauge, histogram, metricNameProblem, seriesNames } from "./metrics";

describe("defineMetrics", () => {
  test("registers every metric on the given registry and returns them by key", async () => {
    const define = defineMetrics("demo", {
      hits: counter("candid_demo_hits_total", "Hits.", { labelNames: ["route"] }),
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
});
