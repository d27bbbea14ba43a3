/**
 * The fleet test (issue 10): two gateways, two storage services on a real S3-compatible server
 * (versitygw), two metadata services and two reapers against one PostgreSQL, with six sessions
 * recording through re-sending clients spread over the gateways. Mid-stream:
 *  1. every session moves to the other gateway (a second connection takes it over while the
 *     first is still open) and the old socket sends one more item (the stale probe);
 *  2. gateway 0 gets SIGTERM (a rolling restart: readiness 503, in-flight acks, close 1012) and
 *     comes back as a new process;
 *  3. gateway 1 is killed (SIGKILL) and comes back;
 *  4. every session moves again.
 * At the end: every acked item is stored exactly once (one row, one S3 object, the sent SHA-256),
 * no stale probe was ever acked (no session had two writers acked at once: the lease epoch fences
 * the old connection), and both gateways answer the same status for every session, connected
 * (is_connected true from both, whichever holds the socket) and after it closed (false from both).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startS3, type TestS3 } from "../support/s3";
import { type Fleet, startFleet } from "../support/fleet";
import { ChaosClient } from "./support/chaos-client";
import { countsLine, s3StoreView, verifyCase } from "./support/verify";
import { ZERO, zeroLoss } from "./support/run-case";

const SESSIONS = 6;
let s3: TestS3;
let fleet: Fleet | null = null;

beforeAll(async () => {
  s3 = await startS3();
});
afterAll(async () => {
  await fleet?.stop();
  await s3?.stop();
});

/** The status both gateways answer for a session, with its upload token. */
async function statuses(f: Fleet, sessionId: string, token: string) {
  return Promise.all(f.gateways.map(async (g) => (await g.api.status(sessionId, token)).body));
}

test("fleet: sessions move between gateways, a rolling restart and a kill -9; nothing lost, one writer at a time, one status", async () => {
  fleet = await startFleet({
    s3,
    logLevel: "error",
    gatewayEnv: { GATEWAY_LEASE_RENEW_MS: "250", GATEWAY_SHUTDOWN_GRACE_MS: "5000" },
    // Both reapers sweep the one bucket and abandon idle sessions, concurrently, all along.
    reaperEnv: { REAPER_INTERVAL_MS: "500", REAPER_IDLE_MS: "2000", REAPER_ORPHAN_INTERVAL_MS: "1000", REAPER_ORPHAN_GRACE_MS: "600000" },
  });
  const f = fleet;
  const interview = await f.gateways[0]!.api.createInterview("fleet");
  let turn = 0;
  /** Round-robin over the gateways that are up (a connect to a draining one is refused and retried). */
  const anyGateway = () => {
    const up = f.gateways.filter((g) => g.up);
    return (up.length ? up : f.gateways)[turn++ % (up.length || f.gateways.length)]!.wsUrl;
  };
  let releaseGate!: () => void;
  const gate = new Promise<void>((r) => (releaseGate = r));
  const clients: ChaosClient[] = [];
  const tokens = new Map<string, string>();
  for (let i = 0; i < SESSIONS; i++) {
    const sessionId = crypto.randomUUID();
    const token = await f.gateways[i % 2]!.api.mintToken(interview, i + 1, { sessionId });
    tokens.set(sessionId, token);
    // Clients start spread: session i on gateway i % 2.
    let first = true;
    const wsUrl = () => {
      if (first) {
        first = false;
        return f.gateways[i % 2]!.wsUrl;
      }
      return anyGateway();
    };
    clients.push(new ChaosClient({ wsUrl, sessionId, token, chunks: 24, framesPerChunk: 4, chunkEveryMs: 400, gate: () => gate }));
  }
  const acks = () => clients.reduce((n, c) => n + c.acked.size, 0);
  const total = SESSIONS * 24 * 5;
  const ackedAtLeast = async (n: number, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    while (acks() < n) {
      if (Date.now() > deadline) throw new Error(`only ${acks()} acks within ${timeoutMs} ms (wanted ${n})`);
      await Bun.sleep(20);
    }
  };
  /** Moves each session to the gateway its socket is not on. */
  const moveAll = async () => {
    const results = await Promise.all(clients.map((c) => c.moveTo(f.gateways.find((g) => g.wsUrl !== c.currentUrl)!.wsUrl)));
    return results.filter(Boolean).length;
  };

  const runs = clients.map((c) => c.run(180_000));
  const events: Record<string, unknown> = {};
  const faults = (async () => {
    await ackedAtLeast(Math.floor(total * 0.15));
    events.moved1 = await moveAll();
    await ackedAtLeast(Math.floor(total * 0.35));
    const t0 = Date.now();
    // A rolling restart of gateway 0: SIGTERM; its clients get 1012 and reconnect to gateway 1.
    const sigterm = await f.restartGateway(0, "SIGTERM", async () => {
      events.drainMs = Date.now() - t0;
    });
    events.sigtermExit = sigterm.exitCode;
    await ackedAtLeast(Math.floor(total * 0.6));
    const kill = await f.restartGateway(1, "SIGKILL");
    events.killExit = kill.exitCode;
    await ackedAtLeast(Math.floor(total * 0.8));
    events.moved2 = await moveAll();
  })();

  // Everything acked (the clients wait at their gate): both gateways say the same, connected.
  const waitAllAcked = async () => {
    const deadline = Date.now() + 150_000;
    while (!clients.every((c) => c.allAcked)) {
      if (Date.now() > deadline) throw new Error(`not all acked: ${clients.map((c) => c.describe()).join("; ")}`);
      await Bun.sleep(50);
    }
  };
  await Promise.all([faults, waitAllAcked()]);
  const connected: string[] = [];
  for (const c of clients) {
    const [a, b] = await statuses(f, c.sessionId, tokens.get(c.sessionId)!);
    expect(a).toEqual(b!);
    expect(a).toMatchObject({ status: "active", is_connected: true, total_chunks: 24, total_frames: 96 });
    connected.push(String(a!.is_connected));
  }
  releaseGate();
  await Promise.all(runs);

  // Closed: the lease was given up, so is_connected is false at once, from both gateways.
  for (const c of clients) {
    let pair = await statuses(f, c.sessionId, tokens.get(c.sessionId)!);
    for (let i = 0; i < 40 && (pair[0]!.is_connected || pair[1]!.is_connected); i++) {
      await Bun.sleep(100);
      pair = await statuses(f, c.sessionId, tokens.get(c.sessionId)!);
    }
    expect(pair[0]).toEqual(pair[1]!);
    expect(pair[0]).toMatchObject({ status: "completed", is_connected: false, total_chunks: 24, total_frames: 96 });
  }

  const counts = await verifyCase(
    { storageAddr: f.storage[0]!.addr, metadataAddr: f.metadata[1]!.addr, storageMetricsUrl: f.storage[0]!.metricsUrl, mediaDir: "", db: f.db },
    clients,
    s3StoreView(s3.client, f.bucket),
  );
  const sum = (fn: (c: ChaosClient) => number) => clients.reduce((n, c) => n + fn(c), 0);
  const closes = (code: number) => sum((c) => c.closeCodes.get(code) ?? 0);
  const gaps = clients.flatMap((c) => c.reconnectGapsMs).sort((a, b) => a - b);
  const fleetCounts = {
    sessions: SESSIONS,
    moves: Number(events.moved1) + Number(events.moved2),
    stale_probes: sum((c) => c.staleProbes),
    stale_refused: sum((c) => c.staleRefused),
    stale_acks: sum((c) => c.staleAcks),
    closes_1012: closes(1012),
    closes_1006: closes(1006),
    closes_4409: closes(4409),
    reconnect_gap_p50_ms: gaps[Math.floor(gaps.length / 2)] ?? 0,
    reconnect_gap_max_ms: gaps.at(-1) ?? 0,
    sigterm_exit: events.sigtermExit,
    drain_ms: events.drainMs,
  };
  console.log(countsLine("fleet", counts));
  console.log(`fleet: ${JSON.stringify(fleetCounts)}`);
  const moveFailures = clients.flatMap((c) => c.moveFailures.map((m) => `${c.sessionId}: ${m}`));
  if (moveFailures.length) console.log(`fleet moves that did not take over:\n  ${moveFailures.join("\n  ")}`);
  if (counts.problems.length) console.log(`fleet details:\n  ${counts.problems.slice(0, 20).join("\n  ")}`);

  expect(zeroLoss(counts)).toEqual(ZERO);
  expect(counts.storedOnce).toBe(total);
  expect(connected.every((v) => v === "true")).toBe(true);
  // Every move took over; every stale socket was refused, none acked.
  expect(fleetCounts.moves).toBe(2 * SESSIONS);
  expect(fleetCounts.stale_acks).toBe(0);
  expect(fleetCounts.stale_refused).toBe(fleetCounts.stale_probes);
  // The rolling restart drained (exit 0) and closed its sockets 1012; the kill dropped its own.
  expect(fleetCounts.sigterm_exit).toBe(0);
  expect(fleetCounts.closes_1012).toBeGreaterThan(0);
  expect(fleetCounts.closes_1006).toBeGreaterThan(0);
}, 300_000);
