/**
 * End-to-end: the gateway's connection-level abuse limits (docs/security.md, "Abuse limits")
 * against the real gateway, storage and metadata processes. Each attack asserts its documented
 * answer and, where it could have written anything, that nothing was stored.
 *
 * The limits are set low in the test stack (an init deadline of 1 s, an idle deadline of 2 s, 100
 * messages a second) so the attacks finish quickly; the per-IP cap has a stack of its own, since
 * every test connection comes from 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import postgres from "postgres";
import { type Stack, startStack } from "../support/stack";
import { fakeJpeg, TestClient } from "../support/ws-client";

const ALLOWED_ORIGIN = "http://localhost:5173";
const T0 = "2025-12-16T10:30:00Z";
const MiB = 1024 * 1024;

const LIMITS_ENV = {
  GATEWAY_INIT_TIMEOUT_MS: "1000",
  GATEWAY_IDLE_TIMEOUT_MS: "2000",
  GATEWAY_MAX_MESSAGES_PER_S: "100",
  GATEWAY_MESSAGE_BURST: "300",
  GATEWAY_MAX_CONNECTIONS_PER_IP: "1000",
  GATEWAY_MAX_BUFFERED_BYTES: String(64 * MiB),
  // a blob stalled in a stopped storage service stays in flight for the whole text-flood test
  GATEWAY_UPSTREAM_TIMEOUT_MS: "30000",
  CORS_ALLOWED_ORIGINS: ALLOWED_ORIGIN,
};

let stack: Stack;
let sql: postgres.Sql;

/**
 * Opens a media session and waits for its ack: the one place that knows how a session starts (it
 * creates an interview, then sends session_init), so switching the suite to upload tokens changes
 * only this function.
 */
async function initSession(s: Stack): Promise<{ c: TestClient; sid: string }> {
  const r = await fetch(`${s.gatewayUrl}/interview-sessions`, { method: "POST", body: JSON.stringify({ title: "limits test" }) });
  expect(r.status).toBe(201);
  const { interview_session_id } = (await r.json()) as { interview_session_id: number };
  const sid = crypto.randomUUID();
  const c = await TestClient.connect(s.wsUrl);
  c.send({ type: "session_init", session_id: sid, interview_session_id, user_id: 1, timestamp: T0 });
  expect(await c.reply()).toEqual({ type: "session_init_ack", session_id: sid, status: "ready" });
  return { c, sid };
}

/** An upgrade request the way a browser sends it, answered without following through (status and body). */
async function upgradeAnswer(s: Stack, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const r = await fetch(s.wsUrl.replace(/^ws/, "http"), {
    headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": btoa("0123456789abcdef"), ...headers },
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

/** The gateway's Prometheus counter candid_gateway_limit_refusals_total{limit}. */
async function refusals(s: Stack, limit: string): Promise<number> {
  const text = await (await fetch(`${s.gatewayUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("candid_gateway_limit_refusals_total{") && l.includes(`limit="${limit}"`));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

const rssBytes = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
const mediaSessions = async () => Number((await sql`select count(*)::int as n from media_sessions`)[0]!.n);
const storedFiles = (s: Stack) => readdirSync(s.mediaDir).filter((f) => !f.startsWith("."));

beforeAll(async () => {
  stack = await startStack({ gatewayEnv: LIMITS_ENV });
  sql = postgres(stack.db.url, { max: 2, onnotice: () => {} });
}, 120_000);

afterAll(async () => {
  await sql?.end({ timeout: 5 });
  await stack?.stop();
});

describe("deadlines", () => {
  test("500 silent sockets are all closed by the init deadline (4408), and nothing is stored", async () => {
    const sessionsBefore = await mediaSessions();
    const filesBefore = storedFiles(stack);
    const t0 = performance.now();
    const clients = await Promise.all(Array.from({ length: 500 }, () => TestClient.connect(stack.wsUrl)));
    const closes = await Promise.all(clients.map((c) => c.waitClose(10_000)));
    expect(performance.now() - t0).toBeLessThan(8000);
    expect(closes.every((c) => c.code === 4408 && c.reason === "INIT_TIMEOUT")).toBe(true);
    expect(clients.every((c) => c.messages.at(-1)?.type === "error" && (c.messages.at(-1) as { code: string }).code === "INIT_TIMEOUT")).toBe(true);
    expect(await mediaSessions()).toBe(sessionsBefore);
    expect(storedFiles(stack)).toEqual(filesBefore);
    expect(await refusals(stack, "init_timeout")).toBeGreaterThanOrEqual(500);
  }, 30_000);

  test("a session that only pings is closed by the idle deadline (4410), not by the init deadline", async () => {
    const { c } = await initSession(stack);
    const opened = performance.now();
    const pinger = setInterval(() => (c.ws as unknown as { ping(): void }).ping(), 200);
    try {
      const close = await c.waitClose(10_000);
      expect(close).toEqual({ code: 4410, reason: "IDLE_TIMEOUT" });
      expect(performance.now() - opened).toBeGreaterThan(1500); // survived the 1 s init deadline
    } finally {
      clearInterval(pinger);
    }
    expect(await refusals(stack, "idle_timeout")).toBeGreaterThanOrEqual(1);
  }, 20_000);

  test("protocol messages keep a session open past the idle deadline", async () => {
    const { c } = await initSession(stack);
    for (let i = 0; i < 6; i++) {
      await Bun.sleep(500);
      c.send("{}"); // UNKNOWN_MESSAGE_TYPE: answered, harmless, but a protocol message
    }
    expect(c.closed).toBeNull(); // 3 s, past the 2 s idle deadline
    c.close();
  }, 20_000);
});

describe("message rate", () => {
  test("a flood of small messages is closed with 4430 RATE_LIMITED", async () => {
    const { c, sid } = await initSession(stack);
    for (let i = 0; i < 2000 && !c.closed; i++) c.send({ type: "frame_metadata", session_id: sid, frame_index: i, chunk_index: 0, timestamp: T0, offset_ms: 0, size: 10 });
    expect(await c.waitClose(10_000)).toEqual({ code: 4430, reason: "RATE_LIMITED" });
    expect(await refusals(stack, "message_rate")).toBeGreaterThanOrEqual(1);
  }, 20_000);
});

describe("buffered bytes", () => {
  test("a text flood behind a stalled blob is closed with 4429 and gateway memory stays bounded", async () => {
    const { c, sid } = await initSession(stack);
    const gw = stack.gateway.proc.pid;
    const storagePid = stack.storage.proc.pid;
    process.kill(storagePid, "SIGSTOP"); // storage stops answering: the blob below stays in flight
    let peak = 0;
    try {
      const jpeg = fakeJpeg(4000);
      c.send({ type: "frame_metadata", session_id: sid, frame_index: 0, chunk_index: 0, timestamp: T0, offset_ms: 0, size: jpeg.length });
      c.sendBlob(sid, "frame", 0, jpeg);
      // session_complete waits for the stalled blob: every text after it waits in the queue
      c.send({ type: "session_complete", session_id: sid, timestamp: T0, total_chunks: 0, total_frames: 1 });
      await Bun.sleep(200);
      Bun.gc(true);
      const before = rssBytes(gw);
      const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(gw) - before)), 20);
      const junk = "x".repeat(MiB);
      for (let i = 0; i < 200 && !c.closed; i++) {
        c.send(junk); // 200 MiB in all
        if (i % 16 === 15) await Bun.sleep(1); // let the close arrive
      }
      const close = await c.waitClose(10_000);
      await Bun.sleep(200);
      clearInterval(sampler);
      peak = Math.max(peak, rssBytes(gw) - before);
      expect(close).toEqual({ code: 4429, reason: "BUFFER_LIMIT_EXCEEDED" });
      expect(peak).toBeLessThan(150 * MiB);
    } finally {
      process.kill(storagePid, "SIGCONT");
    }
    expect(await refusals(stack, "buffered_bytes")).toBeGreaterThanOrEqual(1);
  }, 60_000);
});

describe("origins", () => {
  test("an upgrade with a foreign Origin is answered 403 ORIGIN_NOT_ALLOWED; the app's origin and no Origin upgrade", async () => {
    const foreign = await upgradeAnswer(stack, { origin: "https://evil.example" });
    expect(foreign).toEqual({ status: 403, body: expect.objectContaining({ type: "error", code: "ORIGIN_NOT_ALLOWED" }) });
    for (const headers of [{ origin: ALLOWED_ORIGIN }, {}]) {
      const ws = new WebSocket(stack.wsUrl, { headers } as unknown as string[]);
      expect(await new Promise((resolve) => ((ws.onopen = () => resolve("open")), (ws.onerror = () => resolve("refused"))))).toBe("open");
      ws.close();
    }
    expect(await refusals(stack, "origin")).toBeGreaterThanOrEqual(1);
  });
});

describe("connections per IP", () => {
  let capped: Stack;
  beforeAll(async () => {
    capped = await startStack({ gatewayEnv: { GATEWAY_MAX_CONNECTIONS_PER_IP: "5" } });
  }, 120_000);
  afterAll(async () => {
    await capped?.stop();
  });

  test("the 6th upgrade from one IP is answered 503 TOO_MANY_CONNECTIONS; a closed socket frees its slot", async () => {
    const five = await Promise.all(Array.from({ length: 5 }, () => TestClient.connect(capped.wsUrl)));
    const sixth = await upgradeAnswer(capped);
    expect(sixth).toEqual({ status: 503, body: expect.objectContaining({ type: "error", code: "TOO_MANY_CONNECTIONS" }) });
    expect(await refusals(capped, "connections_per_ip")).toBe(1);
    five[0]!.close();
    await five[0]!.waitClose();
    await Bun.sleep(100);
    const again = await TestClient.connect(capped.wsUrl);
    expect(again.closed).toBeNull();
    for (const c of [...five.slice(1), again]) c.close();
  }, 20_000);
});
