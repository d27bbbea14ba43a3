/**
 * Chaos: each Candid service killed with SIGKILL twice while four sessions record, and started
 * again on the same ports. Acked items must all be stored, once, with their bytes.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { type Stack, startStack } from "../support/stack";
import { CHAOS_STORAGE_ENV } from "./support/verify";
import { runChaosCase, ZERO, zeroLoss } from "./support/run-case";

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.stop();
  stack = null;
});

describe("chaos: kill -9", () => {
  for (const svc of ["gateway", "storage", "metadata"] as const) {
    test(`${svc}, twice`, async () => {
      stack = await startStack({ logLevel: "error", storageEnv: CHAOS_STORAGE_ENV });
      const s = stack;
      const restart = { gateway: () => s.restartGateway("SIGKILL"), storage: () => s.restartStorage("SIGKILL"), metadata: () => s.restartMetadata("SIGKILL") }[svc];
      const counts = await runChaosCase({
        name: `kill-9-${svc}`,
        stack: s,
        async fault(ctx) {
          await ctx.ackedAtLeast(30);
          await restart();
          await ctx.ackedAtLeast(110);
          await restart();
        },
      });
      expect(zeroLoss(counts)).toEqual(ZERO);
      // A killed gateway always drops the sockets; a killed storage or metadata may go unseen by the
      // clients when the gateway's calls wait for the restarted service within their deadline.
      if (svc === "gateway") expect(counts.disruptions).toBeGreaterThan(0);
    });
  }
});
