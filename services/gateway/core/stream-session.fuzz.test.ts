/**
 * Property test of the StreamSession state machine (fast-check; a failure prints its seed and
 * the shrunk sequence): random sequences of messages on one or two connections (valid, damaged,
 * out of order, for other sessions, garbage), the clock moving on, upstream calls failing at
 * random with the errors the real adapters raise, and every upstream call and message arrival
 * interleaved by fast-check's scheduler. Whatever happens:
 *  - no unhandled rejection, no INTERNAL (no unexpected throw anywhere);
 *  - every error message has a code of the table that the WebSocket may carry;
 *  - every close is the table's close for its reason, follows that code's error message, and
 *    after it the connection sends no error and no init ack (only the answers of work already
 *    under way, acks and session_complete_ack, which the socket adapter drops);
 *  - an ack is only ever sent for an item whose blob is stored and whose row is committed, with
 *    the same SHA-256;
 *  - once everything settled and the sockets closed, no buffered byte, token slot or registry
 *    entry is left behind.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createHash } from "node:crypto";
import { encodeBinaryFrame, type ServerMessage, WIRE_ERRORS } from "../../../proto/wire";
import { byteDamageArb, fuzzRuns, mutate, mutationArb, textDamageArb } from "../../../proto/wire/arbitraries";
import { isErrorCode } from "../../../proto/wire/errors";
import { AppError } from "../../shared/errors";
import { type FakeOp, FakeMetadata, FakeStorage } from "./fakes";
import { ByteBudget, SessionsPerToken } from "./limits";
import { SessionRegistry } from "./registry";
import { type Limits, StreamSession } from "./stream-session";
import type { UploadTokenClaims } from "./tokens";

const SID = "0f8fad5b-d9cb-469f-a165-70867728950e";
const OTHER = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";
const T0 = "2025-12-16T10:30:00Z";
const T1 = "2025-12-16T10:30:10Z";
// The smallest blobs the sniffers accept (as in stream-session.test.ts), and a second JPEG with other bytes (conflicts).
const WEBM = new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 0x87, 0x42, 0x82, 0x84, 0x77, 0x65, 0x62, 0x6d, 0x18, 0x53, 0x80, 0x67, 0x81, 0, 1, 2, 3, 4]);
const MP4 = new Uint8Array([0, 0, 0, 0x10, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0, 0, 2, 0, 0, 0, 0, 0x08, 0x66, 0x72, 0x65, 0x65, 9]);
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0, 16, 0, 16, 1, 1, 0x11, 0, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 0x3f, 0, 5, 6, 0xff, 0xd9]);
const JPEG2 = JPEG.map((b, i) => (i === 25 ? 7 : b));
const BODIES = { webm: WEBM, mp4: MP4, jpeg: JPEG, jpeg2: JPEG2, garbage: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), big: new Uint8Array(70), empty: new Uint8Array() };
type Body = keyof typeof BODIES;

/** Small, so the random sequences hit every limit (a few messages fill the buffered-bytes budget). */
const LIMITS: Limits = { maxAudioBytes: 64, maxFrameBytes: 32, maxPending: 4, pendingTtlMs: 1000, maxInFlight: 2, maxBufferedBytes: 1500 };
/** Codes a browser may receive on the WebSocket (the table minus the HTTP-only and internal ones). */
const WS_CODES = new Set(Object.keys(WIRE_ERRORS).filter((c) => !WIRE_ERRORS[c as keyof typeof WIRE_ERRORS].refusesUpgrade && c !== "API_KEY_INVALID" && c !== "INTERNAL_TOKEN_INVALID" && c !== "INTERNAL"));

const claims = (over: Partial<UploadTokenClaims>): UploadTokenClaims => ({ interviewSessionId: 1, userId: 7, sessionId: null, jti: "jti-1", iat: 1, exp: 2, ...over });
/** A fake verifier (tokens.ts has its own fuzz test): a token is a key of TOKENS. */
const TOKENS: Record<string, UploadTokenClaims> = {
  tok: claims({}),
  "tok-again": claims({ jti: "jti-2" }),
  "tok-bound": claims({ sessionId: SID, jti: "jti-3" }),
  "tok-other-user": claims({ userId: 8, jti: "jti-5" }),
  "tok-404": claims({ interviewSessionId: 404, jti: "jti-7" }),
};

// --- the actions ------------------------------------------------------------------------------

type Action =
  | { t: "init"; conn: number; sid: string; token: string | null; interview: number | null }
  | { t: "meta"; conn: number; kind: "audio" | "frame"; index: number; body: Body; sizeDelta: number; sid: string }
  | { t: "blob"; conn: number; kind: "audio" | "frame"; index: number; body: Body; sid: string; damage: ((b: Uint8Array) => Uint8Array) | null }
  | { t: "item"; conn: number; kind: "audio" | "frame"; index: number; body: Body }
  | { t: "complete"; conn: number; chunks: number; frames: number }
  | { t: "text"; conn: number; text: string }
  | { t: "binary"; conn: number; bytes: Uint8Array }
  | { t: "tick"; ms: number }
  | { t: "disconnect"; conn: number };

/** Mostly the first connection; the second one mostly exists to take the session over. */
const conn = fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(1) });
const sidArb = fc.oneof({ weight: 8, arbitrary: fc.constant(SID) }, { weight: 1, arbitrary: fc.constant(OTHER) });
const kindArb = fc.constantFrom("audio" as const, "frame" as const);
const idx = fc.nat(4);
const bodyArb = fc.constantFrom<Body>("webm", "mp4", "jpeg", "jpeg2", "garbage", "big", "empty");
const validMeta = (kind: "audio" | "frame", index: number) =>
  kind === "audio"
    ? { type: "audio_metadata", session_id: SID, chunk_index: index, start_timestamp: T0, end_timestamp: T1, duration_ms: 10000, size: WEBM.length }
    : { type: "frame_metadata", session_id: SID, frame_index: index, chunk_index: 0, timestamp: T0, offset_ms: 2000, size: JPEG.length };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant("init" as const), conn, sid: fc.oneof(sidArb, fc.constant("not-a-uuid")), token: fc.constantFrom("tok", "tok", "tok", "tok-again", "tok-bound", "tok-other-user", "tok-404", "forged", null), interview: fc.constantFrom(1, 1, null, 2) }) },
  { weight: 8, arbitrary: fc.record({ t: fc.constant("meta" as const), conn, kind: kindArb, index: idx, body: bodyArb, sizeDelta: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 100 }) }), sid: sidArb }) },
  { weight: 8, arbitrary: fc.record({ t: fc.constant("blob" as const), conn, kind: kindArb, index: idx, body: bodyArb, sid: sidArb, damage: fc.option(byteDamageArb, { freq: 12, nil: null }) }) },
  // A metadata message and its blob, as a correct client sends them (valid media most of the time).
  { weight: 10, arbitrary: fc.record({ t: fc.constant("item" as const), conn, kind: kindArb, index: idx, body: fc.constantFrom<Body>("webm", "webm", "mp4", "jpeg", "jpeg", "jpeg2", "garbage") }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("complete" as const), conn, chunks: fc.nat(6), frames: fc.nat(6) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("text" as const),
      conn,
      text: fc.oneof(
        fc.tuple(kindArb, idx, fc.array(mutationArb, { minLength: 1, maxLength: 2 })).map(([k, i, m]) => JSON.stringify(mutate(validMeta(k, i), m))),
        fc.tuple(kindArb, idx, textDamageArb).map(([k, i, d]) => d(JSON.stringify(validMeta(k, i)))),
        fc.string({ maxLength: 40 }),
        fc.constantFrom('{"type":"session_complete","session_id":"' + SID + '","total_chunks":4294967296,"total_frames":0}', "x".repeat(400)),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("binary" as const), conn, bytes: fc.uint8Array({ maxLength: 60 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("tick" as const), ms: fc.constantFrom(10, 500, 1500) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("disconnect" as const), conn }) },
);

const FAULTS: Record<FakeOp, AppError[]> = {
  put: [new AppError("UPSTREAM_UNAVAILABLE"), new AppError("CHECKSUM_MISMATCH")],
  delete: [new AppError("UPSTREAM_UNAVAILABLE")],
  open: [new AppError("UPSTREAM_UNAVAILABLE")],
  status: [new AppError("UPSTREAM_UNAVAILABLE")],
  renew: [new AppError("UPSTREAM_UNAVAILABLE")],
  release: [new AppError("UPSTREAM_UNAVAILABLE")],
  captureEvent: [new AppError("UPSTREAM_UNAVAILABLE")],
  recordAudio: [new AppError("UPSTREAM_UNAVAILABLE")],
  recordFrame: [new AppError("UPSTREAM_UNAVAILABLE")],
  complete: [new AppError("UPSTREAM_UNAVAILABLE")],
};

// --- the world of one run ---------------------------------------------------------------------

interface Conn {
  s: StreamSession;
  sent: ServerMessage[];
  closes: Array<{ code: number; reason: string; afterMessages: number }>;
  open: boolean;
}

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
beforeAll(() => void process.on("unhandledRejection", onUnhandled));
afterAll(() => void process.off("unhandledRejection", onUnhandled));

const sha = (d: Uint8Array) => createHash("sha256").update(d).digest("hex");

async function run(sched: fc.Scheduler, actions: Action[], faultRolls: number[], limits: Limits = LIMITS) {
  let roll = 0;
  const hooks = {
    gate: (op: FakeOp) => sched.schedule(Promise.resolve(), op),
    fault: (op: FakeOp) => {
      const r = faultRolls[roll++ % faultRolls.length]!;
      const choices = FAULTS[op];
      return r < 8 ? choices[r % choices.length]! : null; // ~8% of upstream calls fail
    },
  };
  const storage = new FakeStorage(hooks);
  const metadata = new FakeMetadata(hooks);
  const registry = new SessionRegistry("gw-test", metadata);
  const perToken = new SessionsPerToken(2);
  const total = new ByteBudget(limits.maxBufferedBytes * 1.5); // two connections cannot both fill theirs
  const violations: string[] = [];
  const internal: unknown[] = [];
  let now = 1_000_000;
  const conns: Conn[] = [];
  /** Connections the client left (it reconnected on a new one). */
  const retired: Conn[] = [];

  const makeConn = (): Conn => {
    const c: Conn = { sent: [], closes: [], open: true, s: null as unknown as StreamSession };
    c.s = new StreamSession({
      storage,
      metadata,
      registry,
      verifyToken: async (token) => {
        await sched.schedule(Promise.resolve(), "verify");
        const found = token ? TOKENS[token] : undefined;
        if (!found) throw new AppError("TOKEN_INVALID", undefined, {}, { reason: token ? "bad_signature" : "missing" });
        return found;
      },
      sessionsPerToken: perToken,
      limits,
      totalBuffered: total,
      now: () => now,
      sha256Hex: sha,
      send: (m) => {
        // After a close only answers to work already under way may come (the adapter drops them): never an error or an init ack.
        if (c.closes.length && (m.type === "error" || m.type === "session_init_ack")) violations.push(`sent ${JSON.stringify(m)} after closing`);
        if (m.type === "error" && !WS_CODES.has(m.code)) violations.push(`error code ${m.code} is not one the WebSocket carries`);
        if (m.type === "audio_ack" || m.type === "frame_ack") {
          const kind = m.type === "audio_ack" ? "audio" : "frame";
          const index = m.type === "audio_ack" ? m.chunk_index : m.frame_index;
          const sid = c.s.sessionId ?? SID; // acks go out after a close too; the session is the one the blob named
          const row = metadata.row(sid, kind, index);
          const blob = storage.find(sid, kind, index);
          if (!row || !blob) violations.push(`${m.type} ${index} sent while ${!blob ? "no blob" : "no row"} is stored`);
          else if (row.sha256Hex !== blob.sha) violations.push(`${m.type} ${index}: row and blob differ`);
        }
        c.sent.push(m);
      },
      close: (code, reason) => {
        c.closes.push({ code, reason, afterMessages: c.sent.length });
        const spec = isErrorCode(reason) ? WIRE_ERRORS[reason].close : null;
        if (!spec || spec.code !== code) violations.push(`close ${code} ${reason} is not the table's`);
        const last = c.sent.at(-1);
        if (!last || last.type !== "error" || last.code !== reason) violations.push(`close ${reason} not preceded by its error message`);
        if (c.closes.length > 1) violations.push("closed twice");
      },
      events: { acked: () => {}, rejected: () => {}, internal: (err) => void internal.push(err), opened: () => {}, completed: () => {} },
    });
    return c;
  };
  conns.push(makeConn(), makeConn());

  const pending: Promise<void>[] = [];
  const deliver = (a: Action) => {
    if (a.t === "tick") return void (now += a.ms);
    const c = conns[a.conn]!;
    if (a.t === "disconnect") {
      if (c.open) {
        c.open = false;
        c.s.disconnected();
        retired.push(c);
        const next = (conns[a.conn] = makeConn()); // the client reconnects on a new socket and re-inits
        pending.push(next.s.receiveText(JSON.stringify({ type: "session_init", session_id: SID, interview_session_id: 1, user_id: 7, timestamp: T0, token: "tok" })));
      }
      return;
    }
    if (!c.open || c.closes.length) return; // a closed socket delivers nothing
    if (a.t === "init") pending.push(c.s.receiveText(JSON.stringify({ type: "session_init", session_id: a.sid, interview_session_id: a.interview, user_id: 7, timestamp: T0, ...(a.token ? { token: a.token } : {}) })));
    else if (a.t === "meta") {
      const size = BODIES[a.body].length + a.sizeDelta;
      const m = { ...validMeta(a.kind, a.index), session_id: a.sid, size: Math.max(0, size) };
      pending.push(c.s.receiveText(JSON.stringify(m)));
    } else if (a.t === "blob") {
      const frame = encodeBinaryFrame(a.sid, a.kind, a.index, BODIES[a.body]);
      pending.push(c.s.receiveBinary(a.damage ? a.damage(frame) : frame));
    } else if (a.t === "item") {
      const blob = BODIES[a.body];
      pending.push(c.s.receiveText(JSON.stringify({ ...validMeta(a.kind, a.index), size: blob.length })));
      pending.push(c.s.receiveBinary(encodeBinaryFrame(SID, a.kind, a.index, blob)));
    } else if (a.t === "complete") pending.push(c.s.receiveText(JSON.stringify({ type: "session_complete", session_id: SID, total_chunks: a.chunks, total_frames: a.frames })));
    else if (a.t === "text") pending.push(c.s.receiveText(a.text));
    else if (a.t === "binary") pending.push(c.s.receiveBinary(a.bytes));
  };

  // Messages arrive in order, each as soon as the scheduler lets it: interleaved with the upstream calls of earlier ones.
  const arrivals = sched.scheduleSequence(actions.map((a) => ({ label: a.t, builder: async () => deliver(a) })));
  await sched.waitFor(arrivals.task);
  await sched.waitFor(Promise.all(pending));
  await sched.waitFor(Promise.all([...conns, ...retired].map((c) => c.s.drain())));
  await sched.waitIdle();
  for (const c of conns) c.s.disconnected();
  await new Promise((r) => setImmediate(r)); // let an unhandled rejection surface

  expect(violations).toEqual([]);
  expect(internal).toEqual([]);
  expect(unhandled).toEqual([]);
  expect(total.used).toBe(0);
  expect(perToken.tokens).toBe(0);
  expect(registry.holds(SID) || registry.holds(OTHER)).toBe(false);
  return { conns, retired, storage, metadata };
}

describe("StreamSession, fuzzed", () => {
  test("random message sequences keep every promise of the state machine", async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }), fc.array(actionArb, { minLength: 1, maxLength: 40 }), fc.array(fc.nat(99), { minLength: 16, maxLength: 16 }), async (sched, initFirst, rest, rolls) => {
        // Most sequences start like a real client's (else nearly all end at the first message, 4401).
        const actions: Action[] = initFirst ? [{ t: "init", conn: 0, sid: SID, token: "tok", interview: 1 }, ...rest] : rest;
        await run(sched, actions, rolls);
      }),
      { numRuns: fuzzRuns(300) },
    );
  }, 120_000);

  test("a well-behaved client among the noise: init, then items sent as metadata + blob, each acked", async () => {
    // Sanity of the harness: with no faults and no noise, every item sent is acked (else the property above proves little).
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.uniqueArray(fc.tuple(kindArb, idx), { minLength: 1, maxLength: 6, selector: ([k, i]) => `${k}${i}` }), async (sched, items) => {
        const actions: Action[] = [{ t: "init", conn: 0, sid: SID, token: "tok", interview: 1 }];
        for (const [kind, index] of items) {
          const body: Body = kind === "audio" ? "webm" : "jpeg";
          actions.push({ t: "meta", conn: 0, kind, index, body, sizeDelta: 0, sid: SID }, { t: "blob", conn: 0, kind, index, body, sid: SID, damage: null });
        }
        const { conns } = await run(sched, actions, [99], { ...LIMITS, maxBufferedBytes: 1 << 20 });
        const acks = conns[0]!.sent.filter((m) => m.type === "audio_ack" || m.type === "frame_ack");
        expect(conns[0]!.sent.filter((m) => m.type === "error")).toEqual([]);
        expect(acks).toHaveLength(items.length);
      }),
      { numRuns: fuzzRuns(50) },
    );
  });
});

describe("regressions the fuzzer found", () => {
  test("a blob queued behind a message that closes the connection gives its bytes back to the gateway-wide budget", async () => {
    // Metadata before session_init closes with 4401; the blob queued behind it never ran, and its
    // reservation stayed in GATEWAY_MAX_TOTAL_BUFFERED_BYTES for good (each such connection leaked
    // up to one blob, until the gateway refused every connection with BUFFER_LIMIT_EXCEEDED).
    const total = new ByteBudget(10_000);
    const closed: number[] = [];
    const fakeMetadata = new FakeMetadata();
    const s = new StreamSession({
      storage: new FakeStorage(),
      metadata: fakeMetadata,
      registry: new SessionRegistry("gw-test", fakeMetadata),
      verifyToken: async () => TOKENS.tok!,
      sessionsPerToken: new SessionsPerToken(2),
      limits: LIMITS,
      totalBuffered: total,
      now: () => 0,
      sha256Hex: sha,
      send: () => {},
      close: (code) => void closed.push(code),
      events: { acked: () => {}, rejected: () => {}, internal: () => {}, opened: () => {}, completed: () => {} },
    });
    const meta = s.receiveText(JSON.stringify(validMeta("audio", 0)));
    const blob = s.receiveBinary(encodeBinaryFrame(SID, "audio", 0, WEBM));
    expect(total.used).toBeGreaterThan(0);
    await Promise.all([meta, blob]);
    await s.drain();
    expect(closed).toEqual([4401]);
    expect(total.used).toBe(0);
  });
});
