/**
 * @module metrics
 * Prometheus metrics with prom-client. Names follow namespace_subsystem_name_unit:
 * `candid_<service>_<what>_<unit>`, `_total` only on counters. Each service owns one Registry
 * (default process metrics included) and serves it at GET /metrics.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export { Counter, Gauge, Histogram, Registry };

export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: "candid_" });
  return registry;
}

/** Latency buckets in seconds, from 1 ms to 10 s: acks are expected in the 5-100 ms range. */
export const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Batch-size buckets (items per commit). */
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

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
