import { expect, test } from "bun:test";
import { ConfigError } from "../shared/config";
import { loadReaperConfig } from "./config";

test("defaults", () => {
  expect(loadReaperConfig({})).toEqual({
    metadataAddr: "127.0.0.1:50052",
    intervalMs: 30_000,
    idleMs: 300_000,
    batchLimit: 1000,
    metricsPort: 9103,
    logLevel: "info",
  });
});

test("a zero interval or batch limit is rejected, both at once", () => {
  try {
    loadReaperConfig({ REAPER_INTERVAL_MS: "0", REAPER_BATCH_LIMIT: "0" });
    throw new Error("no error");
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).problems).toEqual(["REAPER_INTERVAL_MS must be at least 1", "REAPER_BATCH_LIMIT must be at least 1"]);
  }
});
