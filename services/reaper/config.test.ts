import { expect, test } from "bun:test";
import { ConfigError } from "../shared/config";
import { loadReaperConfig } from "./config";

const TOKEN = "t".repeat(32);

test("defaults", () => {
  expect(loadReaperConfig({ CANDID_INTERNAL_TOKEN: TOKEN })).toEqual({
    metadataAddr: "127.0.0.1:50052",
    intervalMs: 30_000,
    idleMs: 300_000,
    batchLimit: 1000,
    metricsPort: 9103,
    host: "0.0.0.0",
    internalToken: TOKEN,
    logLevel: "info",
  });
});

test("a zero interval or batch limit is rejected, both at once", () => {
  try {
    loadReaperConfig({ REAPER_INTERVAL_MS: "0", REAPER_BATCH_LIMIT: "0", CANDID_INTERNAL_TOKEN: TOKEN });
    throw new Error("no error");
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).problems).toEqual(["REAPER_INTERVAL_MS must be at least 1", "REAPER_BATCH_LIMIT must be at least 1"]);
  }
});

test("the internal token is required, and never echoed", () => {
  try {
    loadReaperConfig({ CANDID_INTERNAL_TOKEN: "short-secret" });
    throw new Error("no error");
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).problems.join(" ")).toContain("CANDID_INTERNAL_TOKEN");
    expect((e as ConfigError).problems.join(" ")).not.toContain("short-secret");
  }
});
