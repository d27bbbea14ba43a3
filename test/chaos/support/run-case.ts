/**
 * @module chaos/run-case
 * One chaos case: several sessions recorded at once through the real stack by re-sending clients,
 * a fault injected mid-stream, then the zero-loss check (./verify.ts) and its one printed line.
 */
import type { Stack } from "../../support/stack";
import { ChaosClient, type ChaosClientOptions } from "./chaos-client";
import { type BlobStoreView, type CaseCounts, countsLine, verifyCase } from "./verify";

export interface CaseContext {
  clients: ChaosClient[];
  /** Resolves once the clients together have `n` acks (the fault then hits mid-stream). */
  ackedAtLeast(n: number, timeoutMs?: number): Promise<void>;
}

export interface CaseOptions {
  name: string;
  stack: Stack;
  /** WebSocket URL the clients use (default: the gateway's; a fault proxy's for network cases) */
  wsUrl?: string;
  sessions?: number;
  client?: Partial<Omit<ChaosClientOptions, "wsUrl" | "sessionId" | "token">>;
  /** how long the clients may take to finish after the fault (ms) */
  deadlineMs?: number;
  store?: BlobStoreView;
  fault(ctx: CaseContext): Promise<void>;
}

export async function runChaosCase(o: CaseOptions): Promise<CaseCounts> {
  const interview = await o.stack.api.createInterview(`chaos ${o.name}`);
  const clients: ChaosClient[] = [];
  for (let i = 0; i < (o.sessions ?? 4); i++) {
    const sessionId = crypto.randomUUID();
    const token = await o.stack.api.mintToken(interview, i + 1, { sessionId });
    clients.push(new ChaosClient({ chunks: 12, framesPerChunk: 4, chunkEveryMs: 400, ...o.client, wsUrl: o.wsUrl ?? o.stack.wsUrl, sessionId, token }));
  }
  const acks = () => clients.reduce((n, c) => n + c.acked.size, 0);
  const ctx: CaseContext = {
    clients,
    async ackedAtLeast(n, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (acks() < n) {
        if (Date.now() > deadline) throw new Error(`only ${acks()} acks within ${timeoutMs} ms (wanted ${n})`);
        await Bun.sleep(20);
      }
    },
  };
  const runs = clients.map((c) => c.run(o.deadlineMs ?? 90_000));
  const faultDone = o.fault(ctx);
  const results = await Promise.allSettled([faultDone, ...runs]);
  const failed = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
  if (failed.length) {
    throw new Error(`chaos ${o.name}: ${failed.map(String).join("; ")}\n${clients.map((c) => `${c.sessionId}: ${c.describe()}`).join("\n")}`);
  }
  const counts = await verifyCase(o.stack, clients, o.store);
  counts.disruptions = clients.reduce((n, c) => n + (c.connects - 1) + [...c.errorCodes.values()].reduce((a, b) => a + b, 0), 0);
  console.log(countsLine(o.name, counts));
  if (counts.problems.length) {
    console.log(`chaos ${o.name} details:\n  ${counts.problems.slice(0, 20).join("\n  ")}\n  ${clients.map((c) => `${c.sessionId}: ${c.describe()}`).join("\n  ")}`);
  }
  return counts;
}

/** The assertions every case makes. */
export function zeroLoss(c: CaseCounts): Record<string, number> {
  return { lost: c.lost, sha_mismatch: c.shaMismatch, rows_without_blob: c.rowsWithoutBlob, not_stored_once: c.sent - c.storedOnce, unacked: c.sent - c.acked, orphans_left: c.orphans };
}
export const ZERO = { lost: 0, sha_mismatch: 0, rows_without_blob: 0, not_stored_once: 0, unacked: 0, orphans_left: 0 };
