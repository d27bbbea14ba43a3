/**
 * Chaos: PostgreSQL restarted with `pg_ctl restart -m immediate` (a crash and recovery) twice
 * while four sessions record. The cluster is private to this file (./support/pg-cluster.ts).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type Stack, startStack } from "../support/stack";
import { CHAOS_STORAGE_ENV } from "./support/verify";
import { type PgCluster, startPgCluster } from "./support/pg-cluster";
import { runChaosCase, ZERO, zeroLoss } from "./support/run-case";

let pg: PgCluster;
let stack: Stack | null = null;

beforeAll(async () => {
  pg = await startPgCluster();
});
afterAll(async () => {
  await stack?.stop();
  await pg?.stop();
});

test("chaos: PostgreSQL restart -m immediate, twice", async () => {
  stack = await startStack({ logLevel: "error", databaseAdminUrl: pg.adminUrl, storageEnv: CHAOS_STORAGE_ENV });
  const counts = await runChaosCase({
    name: "postgres-restart",
    stack,
    async fault(ctx) {
      await ctx.ackedAtLeast(30);
      await pg.restartImmediate();
      await ctx.ackedAtLeast(110);
      await pg.restartImmediate();
    },
  });
  expect(zeroLoss(counts)).toEqual(ZERO);
  // No disruption check: when PostgreSQL is back before the gateway's calls time out, the
  // clients see nothing but a slower ack (as with a killed metadata service).
});
