/**
 * The gateway's side of a rolling restart (docs/deploy.md, "Rolling restarts"), on the real stack:
 * SIGTERM makes /readyz answer 503 at once; for GATEWAY_DRAIN_DELAY_MS the gateway goes on serving
 * (acks, even new connections) while a load balancer takes it out; then it refuses new
 * connections, finishes the blobs it has, and closes every socket 1012 SERVICE_RESTART after their
 * acks; it exits 0. And readiness does not follow the upstreams once started: a storage restart
 * leaves the gateway in the Service (its calls fail UPSTREAM_UNAVAILABLE meanwhile).
 */
import { afterEach, expect, test } from "bun:test";
import { type Stack, startStack } from "../support/stack";
import { fakeWebm, TestClient } from "../support/ws-client";

let stack: Stack | null = null;
afterEach(async () => {
  await stack?.stop();
  stack = null;
});

const T0 = "2025-12-16T10:00:00.000Z";

async function open(s: Stack, sid: string, token: string): Promise<TestClient> {
  const c = await TestClient.connect(s.wsUrl);
  c.send({ type: "session_init", session_id: sid, timestamp: T0, token });
  expect(await c.reply()).toMatchObject({ type: "session_init_ack", session_id: sid });
  return c;
}

function sendAudio(c: TestClient, sid: string, i: number) {
  const blob = fakeWebm(20_000, i);
  const n = c.messages.length;
  c.send({ type: "audio_metadata", session_id: sid, chunk_index: i, start_timestamp: T0, end_timestamp: T0, duration_ms: 10_000, size: blob.length });
  c.sendBlob(sid, "audio", i, blob);
  return c.next((m) => (m.type === "audio_ack" && m.chunk_index === i) || (m.type === "error" && "chunk_index" in m && m.chunk_index === i), 10_000, n);
}

const readyz = async (s: Stack) => (await fetch(`${s.gatewayUrl}/readyz`)).status;

test("SIGTERM: readiness 503 at once, serving through the drain delay, then 1012 after the in-flight acks; exit 0", async () => {
  stack = await startStack({ logLevel: "error", gatewayEnv: { GATEWAY_DRAIN_DELAY_MS: "1500" } });
  const s = stack;
  const iv = await s.api.createInterview("drain");
  const sid = crypto.randomUUID();
  const token = await s.api.mintToken(iv, 1, { sessionId: sid });
  const c = await open(s, sid, token);
  expect(await sendAudio(c, sid, 0)).toMatchObject({ type: "audio_ack" });
  expect(await readyz(s)).toBe(200);

  const t0 = Date.now();
  s.gateway.proc.kill("SIGTERM");
  let notReadyAfterMs = -1;
  for (let i = 0; i < 50; i++) {
    if ((await readyz(s)) === 503) {
      notReadyAfterMs = Date.now() - t0;
      break;
    }
    await Bun.sleep(10);
  }
  expect(notReadyAfterMs).toBeGreaterThanOrEqual(0);
  expect(notReadyAfterMs).toBeLessThan(500);
  // Still serving: acks on the open socket, and a new connection (a client the load balancer had
  // not yet moved) is accepted and can take its session.
  expect(await sendAudio(c, sid, 1)).toMatchObject({ type: "audio_ack" });
  const sid2 = crypto.randomUUID();
  const late = await open(s, sid2, await s.api.mintToken(iv, 2, { sessionId: sid2 }));
  // Blobs sent right before the drain ends are acked before the close.
  await Bun.sleep(Math.max(0, 1200 - (Date.now() - t0)));
  const n = c.messages.length;
  const blobs = [2, 3, 4].map((i) => fakeWebm(20_000, i));
  blobs.forEach((blob, k) => {
    c.send({ type: "audio_metadata", session_id: sid, chunk_index: 2 + k, start_timestamp: T0, end_timestamp: T0, duration_ms: 10_000, size: blob.length });
    c.sendBlob(sid, "audio", 2 + k, blob);
  });
  const closed = await c.waitClose(10_000);
  const closedAfterMs = Date.now() - t0;
  expect(closed).toEqual({ code: 1012, reason: "SERVICE_RESTART" });
  expect(await late.waitClose(5_000)).toEqual({ code: 1012, reason: "SERVICE_RESTART" });
  expect(closedAfterMs).toBeGreaterThanOrEqual(1500);
  const acked = c.messages.slice(n).flatMap((m) => (m.type === "audio_ack" ? [m.chunk_index] : []));
  expect(acked.sort()).toEqual([2, 3, 4]);
  expect(await s.gateway.proc.exited).toBe(0);
  console.log(JSON.stringify({ test: "gateway-drain", notReadyAfterMs, closedAfterMs }));

  // A replacement gateway: the session continues (resume), is_connected follows the new socket.
  await s.restartGateway("SIGKILL");
  const again = await open(s, sid, token);
  expect(again.messages.at(-1)).toMatchObject({ stored: { chunks: [[0, 4]] } });
  expect((await s.api.status(sid)).body).toMatchObject({ is_connected: true, total_chunks: 5 });
  again.close();
});

test("readiness does not follow the upstreams once started: a storage restart leaves the gateway ready", async () => {
  stack = await startStack({ logLevel: "error" });
  const s = stack;
  expect(await readyz(s)).toBe(200);
  await s.storage.stop("SIGKILL");
  await Bun.sleep(500);
  expect(await readyz(s)).toBe(200);
  const iv = await s.api.createInterview("upstream down");
  const sid = crypto.randomUUID();
  const c = await open(s, sid, await s.api.mintToken(iv, 1, { sessionId: sid }));
  // The client hears a retryable error that names no internal address.
  expect(await sendAudio(c, sid, 0)).toEqual({ type: "error", code: "UPSTREAM_UNAVAILABLE", message: "upstream service unavailable", chunk_index: 0 });
  await s.restartStorage();
  // It re-sends, as clients do on UPSTREAM_UNAVAILABLE, until the channel is back.
  let answer = await sendAudio(c, sid, 0);
  for (let i = 0; i < 20 && answer.type === "error"; i++) {
    await Bun.sleep(250);
    answer = await sendAudio(c, sid, 0);
  }
  expect(answer).toMatchObject({ type: "audio_ack", chunk_index: 0 });
  c.close();
});
