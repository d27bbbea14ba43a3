import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { DOC_PATH, renderedDoc } from "./thresholds-doc";

test("docs/analysis.md lists every analyzer threshold as the code defines it (run: bun services/processor/thresholds-doc.ts --write)", () => {
  const doc = readFileSync(DOC_PATH, "utf8");
  expect(renderedDoc(doc)).toBe(doc);
  expect(doc).toContain("`ANALYSIS_VAD_THRESHOLD` | 0.5");
});
