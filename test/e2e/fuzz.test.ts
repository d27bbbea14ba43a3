/**
 * End-to-end fuzzing: a bounded run of random message sequences against the real gateway,
 * storage and metadata processes (test/support/stack.ts). N connections each play M actions drawn
 * by fast-check from a fixed seed (CANDID_FUZZ_SEED overrides it; every failure names it): valid
 * items, mutated and damaged JSON, binary garbage and damaged frames, messages larger than the
 * gateway takes, blobs without their metadata, messages for other sessions, repeated inits and
 * completes, sockets dropped right after sending. A connection the gateway closes reconnects and carries on, as the web client does.
 *
 * Afterwards: the gateway is still alive and ready; every error it sent has a code of the table
 * that the WebSocket may carry (no INTERNAL), every close a code the protocol defines; its output
 * has no unhandled rejection or uncaught exception; its RSS grew by less than RSS_GROWTH_LIMIT;
 * every item it acked is on disk; and a clean session still gets all its acks.
 *
 * The inputs are reproducible from the seed; the interleaving of the N sockets is not (it is the
 * network's), so a failure prints the seed and each connection's last actions.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CLOSES, encodeBinaryFrame, type ServerMessage, WIRE_ERRORS } from "../../proto/wire";
import { byteDamageArb, type Mutation, mutate, mutationArb, textDamageArb } from "../../proto/wire/arbitraries";
import { isErrorCode } from "../../proto/wire/errors";
import { type Stack, startStack } from "../support/stack";
import { fakeJpeg, fakeWebm, TestClient } from "../support/ws-client";

const SEED = Number(process.env.CANDID_FUZZ_SEED ?? 20251216);
const CONNECTIONS = 6;
const ACTIONS_PER_CONNECTION = 300;
const MAX_AUDIO = 64 * 1024;
const MAX_FRAME = 32 * 1024;
/** How much the gateway's resident memory may grow over the run (garbage the GC keeps, mostly). */
const RSS_GROWTH_LIMIT = 64 * 1024 * 1024;

const T0 = Date.parse("2025-12-16T10:30:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

/** Codes a browser may receive on the WebSocket: the table minus the upgrade-only, HTTP-only and internal ones. */
const WS_CODES = new Set(Object.keys(WIRE_ERRORS).filter((c) => !WIRE_ERRORS[c as keyof typeof WIRE_ERRORS].refusesUpgrade && c !== "API_KEY_INVALID" && c !== "INTERNAL_TOKEN_INVALID" && c !== "INTERNAL"));
/** Close codes the protocol defines (the table's, the transport's), plus 1005: the client's own close without a code. */
const CLOSE_CODES = new Set([...Object.values(WIRE_ERRORS).flatMap((s) => (s.close ? [s.close.code] : [])), ...Object.values(CLOSES).map((c) => c.code), 1005]);

// --- the actions ------------------------------------------------------------------------------

type Action =
  /** size 0: the index's own size (the same bytes every time). */
  | { t: "item"; kind: "audio" | "frame"; index: number; size: number }
  | { t: "blob-first"; kind: "audio" | "frame"; index: number }
  | { t: "meta-only"; kind: "audio" | "frame"; index: number; size: number }
  | { t: "mutated"; kind: "audio" | "frame"; index: number; mutations: Mutation[] }
  | { t: "damaged-text"; kind: "audio" | "frame"; index: number; damage: (s: string) => string }
  | { t: "text"; text: string }
  | { t: "binary"; bytes: Uint8Array }
  | { t: "damaged-frame"; kind: "audio" | "frame"; index: number; damage: (b: Uint8Array) => Uint8Array }
  | { t: "oversize"; binary: boolean }
  | { t: "other-session" }
  | { t: "init-again" }
  | { t: "complete" }
  | { t: "pause"; ms: number }
  /** The network flaps: a new socket inits, sends items and closes at once (their blobs still queued in the gateway). */
  | { t: "drop"; items: number };

const kind = fc.constantFrom("audio" as const, "frame" as const);
const index = fc.nat(40);
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  // Mostly the same bytes for the same index (a re-send: stored once, acked again), sometimes others (INDEX_CONFLICT).
  { weight: 30, arbitrary: fc.record({ t: fc.constant("item" as const), kind, index, size: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 40, max: 4000 }) }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("blob-first" as const), kind, index }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("meta-only" as const), kind, index, size: fc.integer({ min: 0, max: MAX_AUDIO + 10 }) }) },
  { weight: 6, arbitrary: fc.record({ t: fc.constant("mutated" as const), kind, index, mutations: fc.array(mutationArb, { minLength: 1, maxLength: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant("damaged-text" as const), kind, index, damage: textDamageArb }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("text" as const), text: fc.oneof(fc.string({ maxLength: 80 }), fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? "null")) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("binary" as const), bytes: fc.uint8Array({ maxLength: 120 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("damaged-frame" as const), kind, index, damage: byteDamageArb }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("oversize" as const), binary: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("other-session" as const) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("init-again" as const) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant("pause" as const), ms: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("drop" as const), items: fc.integer({ min: 1, max: 4 }) }) },
);

const describeAction = (a: Action) => JSON.stringify(a, (_k, v: unknown) => (typeof v === "function" ? "<fn>" : v instanceof Uint8Array ? `<${v.length} bytes>` : v));

// --- one connection's run ---------------------------------------------------------------------

interface Played {
  sid: string;
  messages: ServerMessage[];
  closes: Array<{ code: number; reason: string }>;
  acked: Array<{ kind: "audio" | "frame"; index: number }>;
  actions: string[];
}

function blobFor(k: "audio" | "frame", i: number, size: number): Uint8Array {
  return k === "audio" ? fakeWebm(size, i) : fakeJpeg(size, i);
}

function metaFor(sid: string, k: "audio" | "frame", i: number, size: number): Record<string, unknown> {
  return k === "audio"
    ? { type: "audio_metadata", session_id: sid, chunk_index: i, start_timestamp: iso(T0 + i * 10_000), end_timestamp: iso(T0 + (i + 1) * 10_000), duration_ms: 10_000, size }
    : { type: "frame_metadata", session_id: sid, frame_index: i, chunk_index: Math.floor(i / 5), timestamp: iso(T0 + i * 2000), offset_ms: (i % 5) * 2000, size };
}

async function play(stack: Stack, n: number, actions: Action[]): Promise<Played> {
  const interviewId = await stack.api.createInterview(`fuzz ${n}`);
  const token = await stack.api.mintToken(interviewId, n + 1);
  const sid = crypto.randomUUID();
  const played: Played = { sid, messages: [], closes: [], acked: [], actions: [] };
  const init = { type: "session_init", session_id: sid, interview_session_id: interviewId, user_id: n + 1, timestamp: iso(T0), token };

  let c: TestClient | null = null;
  const collect = (client: TestClient) => {
    for (const m of client.messages) {
      played.messages.push(m);
      if (m.type === "audio_ack") played.acked.push({ kind: "audio", index: m.chunk_index });
      if (m.type === "frame_ack") played.acked.push({ kind: "frame", index: m.frame_index });
    }
    if (client.closed) played.closes.push(client.closed);
  };
  const connect = async () => {
    const client = await TestClient.connect(stack.wsUrl);
    client.send(init);
    await client.next((m) => m.type === "session_init_ack" || m.type === "error", 10_000).catch(() => undefined);
    return client;
  };
  const finish = async (client: TestClient) => {
    if (!client.closed) {
      await Bun.sleep(200); // the answers to the last messages
      client.close();
      await client.waitClose(5_000).catch(() => undefined);
    }
    collect(client);
  };

  /** Items sent on the current connection and not yet answered (ack or error naming them). */
  let unanswered: Array<{ kind: "audio" | "frame"; index: number; from: number }> = [];
  const answered = (client: TestClient, u: (typeof unanswered)[number]) =>
    client.messages.slice(u.from).some((m) => (u.kind === "audio" ? (m.type === "audio_ack" && m.chunk_index === u.index) || (m.type === "error" && m.chunk_index === u.index) : (m.type === "frame_ack" && m.frame_index === u.index) || (m.type === "error" && m.frame_index === u.index)));
  /** Before an action that may close the connection: wait (up to 1 s) for the answers to the items sent so far, which a close would drop. */
  const settle = async (client: TestClient) => {
    const deadline = Date.now() + 1000;
    while (Date.now() < deadline && !client.closed && unanswered.some((u) => !answered(client, u))) await Bun.sleep(5);
    unanswered = [];
  };
  const mayClose = new Set<Action["t"]>(["mutated", "damaged-text", "binary", "damaged-frame", "oversize", "complete"]);

  for (const a of actions) {
    if (!c || c.closed || c.ws.readyState !== WebSocket.OPEN) {
      if (c) {
        await c.waitClose(5_000).catch(() => undefined);
        collect(c);
      }
      c = await connect();
      unanswered = [];
    }
    if (mayClose.has(a.t)) await settle(c);
    played.actions.push(describeAction(a));
    if (played.actions.length > 8) played.actions.shift();
    switch (a.t) {
      case "item": {
        const size = Math.min(a.size || 200 + a.index * 97, a.kind === "audio" ? MAX_AUDIO : MAX_FRAME);
        c.send(metaFor(sid, a.kind, a.index, size));
        unanswered.push({ kind: a.kind, index: a.index, from: c.messages.length });
        c.sendBlob(sid, a.kind, a.index, blobFor(a.kind, a.index, size));
        break;
      }
      case "blob-first":
        c.sendBlob(sid, a.kind, a.index, blobFor(a.kind, a.index, 100));
        c.send(metaFor(sid, a.kind, a.index, 100));
        break;
      case "meta-only":
        c.send(metaFor(sid, a.kind, a.index, a.size));
        break;
      case "mutated":
        c.send(JSON.stringify(mutate(metaFor(sid, a.kind, a.index, 100), a.mutations)));
        break;
      case "damaged-text":
        c.send(a.damage(JSON.stringify(metaFor(sid, a.kind, a.index, 100))));
        break;
      case "text":
        c.send(a.text);
        break;
      case "binary":
        c.sendBinary(a.bytes);
        break;
      case "damaged-frame":
        c.send(metaFor(sid, a.kind, a.index, 100));
        c.sendBinary(a.damage(encodeBinaryFrame(sid, a.kind, a.index, blobFor(a.kind, a.index, 100))));
        break;
      case "oversize":
        // One byte more than the largest message the gateway reads (audio limit + header): Bun closes 1009.
        if (a.binary) c.sendBinary(encodeBinaryFrame(sid, "audio", 0, fakeWebm(MAX_AUDIO + 1)));
        else c.send(JSON.stringify({ ...metaFor(sid, "audio", 0, 1), pad: "x".repeat(MAX_AUDIO + 64) }));
        break;
      case "other-session":
        c.send({ ...metaFor(crypto.randomUUID(), "audio", 0, 100) });
        break;
      case "init-again":
        c.send(init);
        break;
      case "complete":
        c.send({ type: "session_complete", session_id: sid, timestamp: iso(T0 + 3_600_000), total_chunks: 41, total_frames: 41 });
        break;
      case "pause":
        await Bun.sleep(a.ms);
        break;
      case "drop": {
        // A flapping network: a new socket sends session_init and items, and drops before any answer
        // (the gateway is still opening the session: the blobs wait in its queue). The next action reconnects.
        const flap = await TestClient.connect(stack.wsUrl);
        flap.send(init);
        for (let i = 0; i < a.items; i++) {
          flap.send(metaFor(sid, "audio", 100 + i, 3000));
          flap.sendBlob(sid, "audio", 100 + i, blobFor("audio", 100 + i, 3000));
        }
        flap.close();
        await flap.waitClose(5_000).catch(() => undefined);
        collect(flap);
        break;
      }
    }
    // Now and then let the answers flow (a client without a send window would be closed 4429, which is fine, but rarer is more useful).
    if (played.actions.length % 4 === 0) await Bun.sleep(1);
  }
  if (c) await finish(c);
  return played;
}

// --- the test ---------------------------------------------------------------------------------

let stack: Stack;

const rssBytes = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;

/** The gateway's candid_gateway_buffered_bytes gauge (bytes received and not yet acked, refused or handled). */
async function bufferedBytes(s: Stack): Promise<number> {
  const text = await (await fetch(s.gatewayMetricsUrl)).text();
  const line = text.split("\n").find((l) => /^candid_gateway_buffered_bytes(\{[^}]*\})? /.test(l));
  return line ? Number(line.split(" ").at(-1)) : Number.NaN;
}

/** A clean session: init, `n` chunks and frames, every one acked. */
async function cleanSession(s: Stack, n: number): Promise<ServerMessage[]> {
  const interviewId = await s.api.createInterview("fuzz: clean session");
  const token = await s.api.mintToken(interviewId, 999);
  const sid = crypto.randomUUID();
  const c = await TestClient.connect(s.wsUrl);
  c.send({ type: "session_init", session_id: sid, interview_session_id: interviewId, user_id: 999, timestamp: iso(T0), token });
  expect(await c.reply()).toEqual({ type: "session_init_ack", session_id: sid, status: "ready" });
  const acks: ServerMessage[] = [];
  for (let i = 0; i < n; i++) {
    const from = c.messages.length;
    c.send(metaFor(sid, "audio", i, 2000));
    c.sendBlob(sid, "audio", i, fakeWebm(2000, i));
    c.send(metaFor(sid, "frame", i, 1000));
    c.sendBlob(sid, "frame", i, fakeJpeg(1000, i));
    acks.push(await c.next((m) => m.type === "audio_ack" && m.chunk_index === i, 10_000, from));
    acks.push(await c.next((m) => m.type === "frame_ack" && m.frame_index === i, 10_000, from));
  }
  expect(c.messages.filter((m) => m.type === "error")).toEqual([]);
  c.close();
  await c.waitClose();
  return acks;
}

beforeAll(async () => {
  stack = await startStack({
    gatewayEnv: {
      GATEWAY_MAX_AUDIO_BYTES: String(MAX_AUDIO),
      GATEWAY_MAX_FRAME_BYTES: String(MAX_FRAME),
      GATEWAY_MAX_BUFFERED_BYTES: String(4 * 1024 * 1024),
      GATEWAY_INIT_TIMEOUT_MS: "3000",
    },
    logLevel: "info",
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe("the live gateway under random message sequences", () => {
  test(`${CONNECTIONS} connections × ${ACTIONS_PER_CONNECTION} random actions (seed ${SEED})`, async () => {
    const pid = stack.gateway.proc.pid;
    await cleanSession(stack, 2); // warm up: code loaded, pools open
    const rssBefore = rssBytes(pid);

    // Half the connections end with session_complete (it ends the session: everything after it is refused).
    const planArb = fc.tuple(fc.array(actionArb, { minLength: ACTIONS_PER_CONNECTION, maxLength: ACTIONS_PER_CONNECTION }), fc.boolean()).map(([as, complete]): Action[] => (complete ? [...as, { t: "complete" }] : as));
    const plans = fc.sample(planArb, { seed: SEED, numRuns: CONNECTIONS });
    const started = Date.now();
    const runs = await Promise.all(plans.map((p, n) => play(stack, n, p)));
    const elapsedMs = Date.now() - started;

    const context = () => `seed ${SEED} (CANDID_FUZZ_SEED=${SEED} to replay the inputs); last actions per connection:\n${runs.map((r, n) => `  #${n}: ${r.actions.join("\n       ")}`).join("\n")}`;
    const errors = runs.flatMap((r) => r.messages.filter((m): m is Extract<ServerMessage, { type: "error" }> => m.type === "error"));
    const byCode: Record<string, number> = {};
    for (const e of errors) byCode[e.code] = (byCode[e.code] ?? 0) + 1;
    const closes = runs.flatMap((r) => r.closes);
    const acks = runs.reduce((n, r) => n + r.acked.length, 0);
    console.log(`fuzz: seed ${SEED}, ${CONNECTIONS}×${ACTIONS_PER_CONNECTION} actions in ${elapsedMs} ms: ${acks} acks, ${errors.length} errors ${JSON.stringify(byCode)}, ${closes.length} closes ${JSON.stringify(closes.reduce<Record<number, number>>((o, c) => ((o[c.code] = (o[c.code] ?? 0) + 1), o), {}))}`);

    try {
      // The gateway is alive and ready.
      expect(stack.gateway.proc.exitCode).toBeNull();
      expect((await fetch(`${stack.gatewayUrl}/readyz`)).status).toBe(200);
      // Every error code is the table's, one the WebSocket carries; every close code one the protocol defines.
      expect(errors.filter((e) => !isErrorCode(e.code) || !WS_CODES.has(e.code))).toEqual([]);
      expect(closes.filter((c) => !CLOSE_CODES.has(c.code))).toEqual([]);
      // Nothing unhandled in its output.
      const out = stack.gateway.output();
      expect(out.split("\n").filter((l) => /unhandled|uncaught/i.test(l))).toEqual([]);
      // Nor an unexpected failure logged (what a client would have seen as INTERNAL).
      expect(stack.gateway.logs().filter((l) => l.level === "error")).toEqual([]);
      // Every acked item is on disk.
      const missing = runs.flatMap((r) =>
        r.acked.filter(({ kind, index }) => {
          const dir = join(stack.mediaDir, r.sid, kind === "audio" ? "audio" : "frames");
          const prefix = kind === "audio" ? `chunk_${index}.` : `frame_${index}.`;
          return !existsSync(dir) || !readdirSync(dir).some((f) => f.startsWith(prefix));
        }),
      );
      expect(missing).toEqual([]);
      // The run did reach the storing path (else it proves little).
      expect(acks).toBeGreaterThan(CONNECTIONS * 5);

      // Memory is bounded: nothing is left reserved in the gateway-wide buffered-bytes budget, RSS
      // grew by less than the limit; and a clean session still gets its acks.
      await Bun.sleep(500);
      expect(await bufferedBytes(stack)).toBe(0);
      const rssAfter = rssBytes(pid);
      console.log(`fuzz: gateway RSS ${(rssBefore / 2 ** 20).toFixed(1)} MiB before, ${(rssAfter / 2 ** 20).toFixed(1)} MiB after`);
      expect(rssAfter - rssBefore).toBeLessThan(RSS_GROWTH_LIMIT);
      expect(await cleanSession(stack, 3)).toHaveLength(6);
      expect(stack.gateway.proc.exitCode).toBeNull();
    } catch (err) {
      console.error(`fuzz failed: ${context()}`);
      throw err;
    }
  }, 60_000);
});
