/**
 * Chaos: network faults between the clients and the gateway, through toxiproxy
 * (./support/toxiproxy.ts): latency, a bandwidth limit, connections reset, a stall (timeout
 * toxic: bytes go nowhere, nothing closes) and a cut (proxy disabled). Each case records four
 * fresh sessions through the proxy on one shared stack; its check covers its own sessions.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Stack, startStack } from "../support/stack";
import { CHAOS_STORAGE_ENV } from "./support/verify";
import { type CaseContext, runChaosCase, ZERO, zeroLoss } from "./support/run-case";
import { type Proxy, startToxiproxy, type Toxic, type Toxiproxy } from "./support/toxiproxy";

let stack: Stack;
let toxi: Toxiproxy;
let proxy: Proxy;

beforeAll(async () => {
  [stack, toxi] = await Promise.all([startStack({ logLevel: "error", storageEnv: CHAOS_STORAGE_ENV }), startToxiproxy()]);
  proxy = await toxi.createProxy("gateway", new URL(stack.gatewayUrl).host);
});
afterAll(async () => {
  await toxi?.stop();
  await stack?.stop();
});

/** Applies `toxics` once the clients are mid-stream, for `forMs`, then removes them. */
const withToxics = (toxics: Toxic[], forMs: number) => async (ctx: CaseContext) => {
  await ctx.ackedAtLeast(30);
  for (const t of toxics) await proxy.addToxic(t);
  await Bun.sleep(forMs);
  for (const t of toxics) await proxy.removeToxic(t.name);
};

const cases: Array<{ name: string; fault: (ctx: CaseContext) => Promise<void>; disrupts: boolean }> = [
  {
    name: "net-latency",
    // 300 ± 200 ms each way: slow acks, nothing lost, nothing refused.
    fault: withToxics(
      [
        { name: "lat_down", type: "latency", stream: "downstream", attributes: { latency: 300, jitter: 200 } },
        { name: "lat_up", type: "latency", stream: "upstream", attributes: { latency: 300, jitter: 200 } },
      ],
      5000,
    ),
    disrupts: false,
  },
  {
    name: "net-bandwidth",
    // 8 KB/s per connection towards the gateway: a full window takes longer than the ack
    // timeout, so the clients reconnect and re-send (items the gateway then also gets late).
    fault: withToxics([{ name: "bw_up", type: "bandwidth", stream: "upstream", attributes: { rate: 8 } }], 8000),
    disrupts: true,
  },
  {
    name: "net-reset-peer",
    // Every connection (old and new) is reset 300 ms after its data starts flowing.
    fault: withToxics([{ name: "reset", type: "reset_peer", stream: "upstream", attributes: { timeout: 300 } }], 4000),
    disrupts: true,
  },
  {
    name: "net-stall",
    // timeout 0: bytes are swallowed and nothing closes until the toxic goes; only the
    // clients' ack timeout notices.
    fault: withToxics([{ name: "stall", type: "timeout", stream: "upstream", attributes: { timeout: 0 } }], 7000),
    disrupts: true,
  },
  {
    name: "net-cut",
    // The proxy disabled for 5 s: connections closed, new ones refused.
    async fault(ctx) {
      await ctx.ackedAtLeast(30);
      await proxy.setEnabled(false);
      await Bun.sleep(5000);
      await proxy.setEnabled(true);
    },
    disrupts: true,
  },
];

describe("chaos: network between client and gateway (toxiproxy)", () => {
  for (const c of cases) {
    test(c.name, async () => {
      const counts = await runChaosCase({ name: c.name, stack, wsUrl: `ws://${proxy.listen}/ws/media-stream`, fault: c.fault, deadlineMs: 90_000 });
      expect(zeroLoss(counts)).toEqual(ZERO);
      if (c.disrupts) expect(counts.disruptions).toBeGreaterThan(0);
    });
  }
});
