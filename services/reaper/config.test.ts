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
    storageAddr: "127.0.0.1:50051",
    orphanSweep: true,
    orphanGraceMs: 3_600_000,
    orphanIntervalMs: 600_000,
    orphanPageSize: 500,
    orphanDryRun: false,
    retentionDays: 0,
    retentionIntervalMs: 3_600_000,
    erasureIntervalMs: 5_000,
    erasureLeaseMs: 60_000,
    erasurePageSize: 100,
    erasureConcurrency: 8,
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

test("the orphan sweeper's settings: dry run, bounds", () => {
  const c = loadReaperConfig({ CANDID_INTERNAL_TOKEN: TOKEN, REAPER_ORPHAN_DRY_RUN: "true", REAPER_ORPHAN_GRACE_MS: "1000", STORAGE_ADDR: "storage:50051" });
  expect(c).toMatchObject({ orphanDryRun: true, orphanGraceMs: 1000, storageAddr: "storage:50051" });
  try {
    loadReaperConfig({ CANDID_INTERNAL_TOKEN: TOKEN, REAPER_ORPHAN_GRACE_MS: "0", REAPER_ORPHAN_PAGE_SIZE: "1001" });
    throw new Error("no error");
  } catch (e) {
    expect((e as ConfigError).problems).toEqual(["REAPER_ORPHAN_GRACE_MS must be at least 1", "REAPER_ORPHAN_PAGE_SIZE must be 1..1000"]);
  }
});

test("retention and erasure settings: CANDID_RETENTION_DAYS off or 1..3650, the lease and page bounds, all problems at once", () => {
  expect(loadReaperConfig({ CANDID_INTERNAL_TOKEN: TOKEN, CANDID_RETENTION_DAYS: "30" }).retentionDays).toBe(30);
  try {
    loadReaperConfig({ CANDID_INTERNAL_TOKEN: TOKEN, CANDID_RETENTION_DAYS: "3651", REAPER_ERASURE_LEASE_MS: "999", REAPER_ERASURE_PAGE_SIZE: "0", REAPER_ERASURE_CONCURRENCY: "65" });
    throw new Error("no error");
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).problems).toEqual([
      "CANDID_RETENTION_DAYS must be 0 (off) or 1..3650",
      "REAPER_ERASURE_LEASE_MS must be 1000..3600000",
      "REAPER_ERASURE_PAGE_SIZE must be 1..1000",
      "REAPER_ERASURE_CONCURRENCY must be 1..64",
    ]);
  }
});
