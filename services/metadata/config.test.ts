import { expect, test } from "bun:test";
import { ConfigError } from "../shared/config";
import { loadMetadataConfig, redactDatabaseUrl } from "./config";

test("defaults", () => {
  expect(loadMetadataConfig({})).toEqual({
    grpcAddr: "0.0.0.0:50052",
    metricsPort: 9102,
    databaseUrl: undefined,
    databasePoolMax: 10,
    pgliteDataDir: "./data/pglite",
    pglitePort: 0,
    recordLanes: 1,
    recordMaxBatch: 128,
    shutdownGraceMs: 5000,
    logLevel: "info",
  });
});

test("every invalid variable is reported at once", () => {
  try {
    loadMetadataConfig({ METADATA_METRICS_PORT: "x", DATABASE_POOL_MAX: "-1", LOG_LEVEL: "loud" });
    throw new Error("no error");
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).problems.length).toBe(3);
  }
});

test("the database password never reaches a log line", () => {
  expect(redactDatabaseUrl("postgres://app:s3cret@db:5432/candid")).toBe("postgres://app:***@db:5432/candid");
  expect(redactDatabaseUrl("postgres://db/candid")).toBe("postgres://db/candid");
  expect(redactDatabaseUrl("::")).not.toContain(":");
});
