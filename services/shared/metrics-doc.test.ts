import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { DOC_PATH, renderMetricsDoc } from "./metrics-doc";

test("docs/metrics.md is what the services declare (run: bun services/shared/metrics-doc.ts --write)", () => {
  expect(readFileSync(DOC_PATH, "utf8")).toBe(renderMetricsDoc());
});

test("it lists every service's metrics, with where the chart uses them", () => {
  const doc = renderMetricsDoc();
  for (const s of ["gateway", "storage", "metadata", "reaper"]) expect(doc).toContain(`## ${s}`);
  expect(doc).toMatch(/`candid_gateway_sessions_active` \| gauge .*panel "Active sessions by pod"/);
  expect(doc).toMatch(/`candid_gateway_chunks_total` \| counter \| `outcome` \(created, identical\)/);
});
