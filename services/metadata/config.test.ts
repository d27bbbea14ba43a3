import { expect, test } from "bun:test";
import { ConfigError } from "../shared/config";
import { loadMetadataConfig, redactDatabaseUrl } from "./config";

const TOKEN = "t".repeat(32);

test("defaults", () => {
  expect(loadMetadataConfig({ CANDID_INTERNAL_TOKEN: TOKEN })).toEqual({
    host: "0.0.0.0",
    grpcAddr: "0.0.0.0:50052",
    internalToken: TOKEN,
    metricsPort: 9102,
    databaseUrl: undefined,
    databasePoolMax: 10,
    pgliteDataDir: "./data/pglite",
    pglitePort: 0,
    pgliteFsync: true,
    recordLanes: 1,
    recordMaxBatch: 128,
    leaseTtlMs: 3000,
    shutdownGraceMs: 5000,
    logLevel: "info",
  });
});

test("every invalid variable is reported at once", () => {
  try {
    loadMetadataConfig({ METADATA_METRICS_PORT: "x", DATABASE_POOL_MAX: "-1", LOG_LEVEL: "loud", CANDID_INTERNAL_TOKEN: TOKEN });
    throw new Error("no error");
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).problems.length).toBe(3);
  }
});

test("METADATA_HOST binds the ops port and the default gRPC address", () => {
  const c = loadMetadataConfig({ METADATA_HOST: "127.0.0.1", CANDID_INTERNAL_TOKEN: TOKEN });
  expect([c.host, c.grpcAddr]).toEqual(["127.0.0.1", "127.0.0.1:50052"]);
  expect(loadMetadataConfig({ METADATA_HOST: "127.0.0.1", METADATA_GRPC_ADDR: "10.0.0.1:1", CANDID_INTERNAL_TOKEN: TOKEN }).grpcAddr).toBe("10.0.0.1:1");
});

test("refuses to start without an internal token of at least 32 bytes", () => {
  expect(() => loadMetadataConfig({})).toThrow("CANDID_INTERNAL_TOKEN is required");
  expect(() => loadMetadataConfig({ CANDID_INTERNAL_TOKEN: "x".repeat(31) })).toThrow("CANDID_INTERNAL_TOKEN must be at least 32 bytes");
});

test("the database password never reaches a log line", () => {
  expect(redactDatabaseUrl("postgres://app:s3cret@db:5432/candid")).toBe("postgres://app:***@db:5432/candid");
  expect(redactDatabaseUrl("postgres://db/candid")).toBe("postgres://db/candid");
  expect(redactDatabaseUrl("::")).not.toContain(":");
});

test("PGLITE_FSYNC=false turns the embedded database's fsync off", () => {
  expect(loadMetadataConfig({ CANDID_INTERNAL_TOKEN: TOKEN, PGLITE_FSYNC: "false" }).pgliteFsync).toBe(false);
});
