import { beforeEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { encodeBinaryFrame, type IndexRange, MAX_STORED_RANGES, type ServerMessage } from "../../../proto/wire";
import { AppError } from "../../shared/errors";
import { ByteBudget, SessionsPerToken } from "./limits";
import { FakeMetadata, FakeStorage } from "./fakes";
import type { StorageService } from "./ports";
import { SessionRegistry } from "./registry";
import { type Limits, StreamSession } from "./stream-session";
import type { UploadTokenClaims } from "./tokens";

const SID = "0f8fad5b-d9cb-469f-a165-70867728950e";
const OTHER = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";
// The smallest blobs proto/wire/sniff.ts accepts (EBML DocType webm + Segment; ftyp isom + a box; SOI SOF0 SOS data EOI).
const WEBM = new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 0x87, 0x42, 0x82, 0x84, 0x77, 0x65, 0x62, 0x6d, 0x18, 0x53, 0x80, 0x67, 0x81, 0, 1, 2, 3, 4]);
const MP4 = new Uint8Array([0, 0, 0, 0x10, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0, 0, 2, 0, 0, 0, 0, 0x08, 0x66, 0x72, 0x65, 0x65, 9]);
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0, 16, 0, 16, 1, 1, 0x11, 0, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 0x3f, 0, 5, 6, 0xff, 0xd9]);
const T0 = "2025-12-16T10:30:00Z";
const T1 = "2025-12-16T10:30:10Z";

const sha = (d: Uint8Array) => createHash("sha256").update(d).digest("hex");

const limits: Limits = { maxAudioBytes: 64, maxFrameBytes: 32, maxPending: 4, pendingTtlMs: 1000, maxInFlight: 2, maxBufferedBytes: 300 };

let storage: FakeStorage;
let metadata: FakeMetadata;
let registry: SessionRegistry;
let perToken: SessionsPerToken;
let now: number;

/**
 * A fake verifier (the real one, tokens.ts, has its own tests): a token is a key of TOKENS; its
 * claims are the value. "tok" is the default candidate's: interview 1, user 7.
 */
const claims = (over: Partial<UploadTokenClaims> = {}): UploadTokenClaims => ({ interviewSessionId: 1, userId: 7, sessionId: null, jti: "jti-1", iat: 1, exp: 2, ...over });
const TOKENS: Record<string, UploadTokenClaims> = {
  tok: claims(),
  "tok-again": claims({ jti: "jti-2" }), // the same candidate, another token
  "tok-bound": claims({ sessionId: SID, jti: "jti-3" }),
  "tok-bound-other": claims({ sessionId: OTHER, jti: "jti-4" }),
  "tok-other-user": claims({ userId: 8, jti: "jti-5" }),
  "tok-other-interview": claims({ interviewSessionId: 2, jti: "jti-6" }),
  "tok-404": claims({ interviewSessionId: 404, jti: "jti-7" }), // an interview deleted after minting
};
async function verifyToken(token: string | null): Promise<UploadTokenClaims> {
  if (!token) throw new AppError("TOKEN_INVALID", undefined, {}, { reason: "missing" });
  const c = TOKENS[token];
  if (!c) throw new AppError("TOKEN_INVALID", undefined, {}, { reason: "bad_signature" });
  return c;
}

function connect(storagePort: StorageService = storage, opts: { limits?: Partial<Limits>; totalBuffered?: ByteBudget } = {}) {
  const sent: ServerMessage[] = [];
  const closed: Array<{ code: number; reason: string }> = [];
  const events = { acked: [] as string[], rejected: [] as string[] };
  const s = new StreamSession({
    storage: storagePort,
    metadata,
    registry,
    verifyToken,
    sessionsPerToken: perToken,
    limits: { ...limits, ...opts.limits },
    totalBuffered: opts.totalBuffered,
    now: () => now,
    sha256Hex: sha,
    send: (m) => sent.push(m),
    close: (code, reason) => closed.push({ code, reason }),
    events: {
      acked: (kind, _b, _l, outcome) => events.acked.push(`${kind}:${outcome}`),
      rejected: (code, reason) => events.rejected.push(reason ? `${code}:${reason}` : code),
      internal: () => {},
      opened: () => {},
      completed: () => {},
    },
  });
  const text = async (o: unknown) => {
    await s.receiveText(typeof o === "string" ? o : JSON.stringify(o));
    await s.drain();
  };
  const bin = async (b: Uint8Array) => {
    await s.receiveBinary(b);
    await s.drain();
  };
  return { s, sent, closed, events, text, bin, last: () => sent.at(-1) };
}

const init = (extra: object = {}) => ({ type: "session_init", session_id: SID, interview_session_id: 1, user_id: 7, timestamp: T0, token: "tok", ...extra });
const audioMeta = (i: number, size: number, extra: object = {}) => ({ type: "audio_metadata", session_id: SID, chunk_index: i, start_timestamp: T0, end_timestamp: T1, duration_ms: 10000, size, ...extra });
const frameMeta = (i: number, size: number, extra: object = {}) => ({ type: "frame_metadata", session_id: SID, frame_index: i, chunk_index: 0, timestamp: T0, offset_ms: 2000, size, ...extra });

async function ready() {
  const c = connect();
  await c.text(init());
  // The seed's fields, unchanged; a resumed session's ack adds `stored` (tested below).
  expect(c.last()).toMatchObject({ type: "session_init_ack", session_id: SID, status: "ready" });
  return c;
}

beforeEach(() => {
  storage = new FakeStorage();
  metadata = new FakeMetadata();
  registry = new SessionRegistry("gw-test", metadata);
  perToken = new SessionsPerToken(2);
  now = 1_000_000;
});

describe("session_init", () => {
  test("acks, registers the connection, and a repeat is acked again", async () => {
    const c = await ready();
    expect(registry.holds(SID)).toBe(true);
    await c.text(init());
    expect(c.last()).toMatchObject({ type: "session_init_ack" });
    c.s.disconnected();
    expect(registry.holds(SID)).toBe(false);
  });

  test("a second session on the same connection is refused", async () => {
    const c = await ready();
    await c.text(init({ session_id: OTHER }));
    expect(c.last()).toMatchObject({ type: "error", code: "SESSION_MISMATCH" });
    expect(c.closed).toEqual([]);
  });

  test("unknown interview session: error, connection stays, retry works", async () => {
    const c = connect();
    await c.text(init({ interview_session_id: null, token: "tok-404" }));
    expect(c.last()).toMatchObject({ type: "error", code: "INTERVIEW_SESSION_NOT_FOUND" });
    await c.text(init());
    expect(c.last()).toMatchObject({ type: "session_init_ack" });
  });

  test("upstream down during init: error, not initialized", async () => {
    metadata.failOpen = new AppError("UPSTREAM_UNAVAILABLE");
    const c = connect();
    await c.text(init());
    expect(c.last()).toMatchObject({ code: "UPSTREAM_UNAVAILABLE" });
    await c.text(audioMeta(0, WEBM.length));
    expect(c.closed).toEqual([{ code: 4401, reason: "SESSION_NOT_INITIALIZED" }]);
  });

  test("an invalid session id closes with 4402", async () => {
    const c = connect();
    await c.text(init({ session_id: "test-123" }));
    expect(c.last()).toMatchObject({ type: "error", code: "INVALID_SESSION_ID" });
    expect(c.closed).toEqual([{ code: 4402, reason: "INVALID_SESSION_ID" }]);
    await c.text(init());
    expect(c.sent.filter((m) => m.type === "session_init_ack")).toHaveLength(0);
  });

  test("a reconnect takes the session over from the old connection (4409)", async () => {
    const a = await ready();
    const b = await ready();
    expect(a.closed).toEqual([{ code: 4409, reason: "SESSION_TAKEN_OVER" }]);
    expect(b.closed).toEqual([]);
    a.s.disconnected();
    expect(registry.holds(SID)).toBe(true);
  });

  test("taken over on another gateway: the next record is fenced and the connection closes 4409; the blob stays", async () => {
    const a = await ready();
    metadata.takeOver(SID);
    await a.text(audioMeta(0, WEBM.length));
    await a.bin(encodeBinaryFrame(SID, "audio", 0, WEBM));
    await a.s.drain();
    expect(a.closed).toEqual([{ code: 4409, reason: "SESSION_TAKEN_OVER" }]);
    expect(a.sent.some((m) => m.type === "audio_ack")).toBe(false);
    expect(metadata.row(SID, "audio", 0)).toBeUndefined();
    // Not deleted: the new owner may have stored the same bytes under this key meanwhile.
    expect(storage.find(SID, "audio", 0)).toBeDefined();
    expect(registry.holds(SID)).toBe(false);
  });

  test("taken over on another gateway: the renewal tells the idle connection (4409), the lease is not released", async () => {
    const a = await ready();
    await registry.renew();
    expect(a.closed).toEqual([]);
    metadata.takeOver(SID, "gw-other");
    await registry.renew();
    expect(a.closed).toEqual([{ code: 4409, reason: "SESSION_TAKEN_OVER" }]);
    expect(registry.size).toBe(0);
    expect(metadata.sessions.get(SID)?.owner).toBe("gw-other");
  });

  test("a stale connection cannot complete the session", async () => {
    const a = await ready();
    metadata.takeOver(SID);
    await a.text({ type: "session_complete", session_id: SID, total_chunks: 0, total_frames: 0 });
    expect(a.closed).toEqual([{ code: 4409, reason: "SESSION_TAKEN_OVER" }]);
    expect(metadata.sessions.get(SID)?.completed).toBe(false);
  });

  test("closing gives the lease up in metadata (is_connected false at once)", async () => {
    const a = await ready();
    expect(metadata.sessions.get(SID)?.owner).toBe("gw-test");
    a.s.disconnected();
    await registry.stop();
    expect(metadata.sessions.get(SID)?.owner).toBeNull();
    expect((await metadata.status(SID)).isConnected).toBe(false);
  });

  test("a completed session cannot be re-opened", async () => {
    const c = await ready();
    await c.text({ type: "session_complete", session_id: SID, total_chunks: 0, total_frames: 0 });
    const d = connect();
    await d.text(init());
    expect(d.last()).toMatchObject({ code: "SESSION_COMPLETED" });
  });
});

describe("media before init", () => {
  test("metadata before session_init closes with 4401", async () => {
    const c = connect();
    await c.text(audioMeta(0, 8));
    expect(c.closed).toEqual([{ code: 4401, reason: "SESSION_NOT_INITIALIZED" }]);
  });
  test("a blob before session_init closes with 4401", async () => {
    const c = connect();
    await c.bin(encodeBinaryFrame(SID, "audio", 0, WEBM));
    expect(c.closed[0]?.code).toBe(4401);
    expect(storage.puts).toBe(0);
  });
});

describe("audio and frames", () => {
  test("metadata then blob: stored, recorded, acked", async () => {
    const c = await ready();
    await c.text(audioMeta(0, WEBM.length));
    await c.bin(encodeBinaryFrame(SID, "audio", 0, WEBM));
    expect(c.last()).toEqual({ type: "audio_ack", chunk_index: 0 });
    await c.text(frameMeta(0, JPEG.length));
    await c.bin(encodeBinaryFrame(SID, "frame", 0, JPEG));
    expect(c.last()).toEqual({ type: "frame_ack", frame_index: 0 });
    const rec = metadata.audio.get(`${SID}/0`)!;
    expect(rec).toMatchObject({ mediaType: "audio/webm", size: WEBM.length, startMs: Date.parse(T0), endMs: Date.parse(T1), durationMs: 10000, sha256Hex: sha(WEBM) });
    expect(metadata.frames.get(`${SID}/0`)).toMatchObject({ mediaType: "image/jpeg", chunkIndex: 0, offsetMs: 2000 });
    expect(c.events.acked).toEqual(["audio:created", "frame:created"]);
  });

  test("MP4 audio (Safari) is accepted as audio/mp4", async () => {
    const c = await ready();
    await c.text(audioMeta(3, MP4.length));
    await c.bin(encodeBinaryFrame(SID, "audio", 3, MP4));
    expect(c.last()).toEqual({ type: "audio_ack", chunk_index: 3 });
    expect(metadata.audio.get(`${SID}/3`)?.mediaType).toBe("audio/mp4");
  });

  test("out-of-order indices are fine", async () => {
    const c = await ready();
    for (const i of [2, 0, 1]) {
      await c.text(audioMeta(i, WEBM.length));
      await c.bin(encodeBinaryFrame(SID, "audio", i, WEBM));
    }
    expect(c.sent.filter((m) => m.type === "audio_ack").map((m) => (m as { chunk_index: number }).chunk_index)).toEqual([2, 0, 1]);
  });

  test("identical re-send is acked again without a new row", async () => {
    const c = await ready();
    for (let k = 0; k < 2; k++) {
      await c.text(audioMeta(0, WEBM.length));
      await c.bin(encodeBinaryFrame(SID, "audio", 0, WEBM));
      expect(c.last()).toEqual({ type: "audio_ack", chunk_index: 0 });
    }
    expect(c.events.acked).toEqual(["audio:created", "audio:identical"]);
    expect(metadata.audio.size).toBe(1);
  });

  test("same index, different bytes: INDEX_CONFLICT, stored one kept", async () => {
    const c = await ready();
    await c.text(audioMeta(0, WEBM.length));
    await c.bin(encodeBinaryFrame(SID, "audio", 0, WEBM));
    const other = WEBM.slice();
    other[other.length - 1] = 99;
    await c.text(audioMeta(0, other.length));
    await c.bin(encodeBinaryFrame(SID, "audio", 0, other));
    expect(c.last()).toMatchObject({ type: "error", code: "INDEX_CONFLICT", chunk_index: 0 });
    expect(metadata.audio.get(`${SID}/0`)?.sha256Hex).toBe(sha(WEBM));
  });

  test("conflict seen only by metadata (other container) removes the blob it just created", async () => {
    const c = await ready();
    await c.text(audioMeta(0, WEBM.length));
    await c.bin(encodeBinaryFrame(SID, "audio", 0, WEBM));
    await c.text(audioMeta(0, MP4.length));
    await c.bin(encodeBinaryFrame(SID, "audio", 0, MP4));
    expect(c.last()).toMatchObject({ code: "INDEX_CONFLICT" });
    expect([...storage.blobs.keys()]).toEqual([`${SID}/audio/0.audio/webm`]);
  });

  test("blob without metadata: METADATA_MISSING, nothing stored", async () => {
    const c = await ready();
    await c.bin(encodeBinaryFrame(SID, "frame", 5, JPEG));
    expect(c.last()).toMatchObject({ type: "error", code: "METADATA_MISSING", frame_index: 5 });
    expect(storage.puts).toBe(0);
  });

  test("metadata for audio does not match a frame blob of the same index", async () => {
    const c = await ready();
    await c.text(audioMeta(1, JPEG.length));
    await c.bin(encodeBinaryFrame(SID, "frame", 1, JPEG));
    expect(c.last()).toMatchObject({ code: "METADATA_MISSING" });
  });

  test("metadata expires after the TTL", async () => {
    const c = await ready();
    await c.text(audioMeta(0, WEBM.length));
    now += limits.pendingTtlMs + 1;
    await c.bin(encodeBinaryFrame(SID, "audio", 0, WEBM));
    expect(c.last()).toMatchObject({ code: "METADATA_MISSING" });
  });

  test("size mismatch: error, nothing stored, a corrected blob still works", async () => {
    const c = await ready();
    await c.text(audioMeta(0, WEBM.length + 1));
    await c.bin(encodeBinaryFrame(SID, "audio", 0, WEBM));
    expect(c.last()).toMatchObject({ code: "SIZE_MISMATCH", chunk_index: 0 });
    expect(storage.puts).toBe(0);
    await c.text(audioMeta(0, WEBM.length));
    await c.bin(encodeBinaryFrame(SID, "audio", 0, WEBM));
    expect(c.last()).toEqual({ type: "audio_ack", chunk_index: 0 });
  });

  test("size limits on the announcement and on the blob", async () => {
    const c = await ready();
    await c.text(audioMeta(0, limits.maxAudioBytes + 1));
    expect(c.last()).toMatchObject({ code: "BLOB_TOO_LARGE", chunk_index: 0 });
    await c.text(frameMeta(0, limits.maxFrameBytes + 1));
    expect(c.last()).toMatchObject({ code: "BLOB_TOO_LARGE", frame_index: 0 });
    expect(storage.puts).toBe(0);
  });

  test("content sniffing: audio must be WebM/MP4, frames JPEG", async () => {
    const c = await ready();
    await c.text(audioMeta(0, JPEG.length));
    await c.bin(encodeBinaryFrame(SID, "audio", 0, JPEG));
    expect(c.last()).toMatchObject({ code: "UNSUPPORTED_MEDIA_TYPE", chunk_index: 0 });
    await c.text(frameMeta(0, WEBM.length));
    await c.bin(encodeBinaryFrame(SID, "frame", 0, WEBM));
    expect(c.last()).toMatchObject({ code: "UNSUPPORTED_MEDIA_TYPE", frame_index: 0 });
    expect(storage.puts).toBe(0);
  });

  test("too many pending announcements", async () => {
    const c = await ready();
    for (let i = 0; i < limits.maxPending; i++) await c.text(frameMeta(i, JPEG.length));
    await c.text(frameMeta(99, JPEG.length));
    expect(c.last()).toMatchObject({ code: "TOO_MANY_PENDING", frame_index: 99 });
    await c.text(frameMeta(0, JPEG.length)); // re-announcing a pending index is fine
    expect(c.last()).toMatchObject({ code: "TOO_MANY_PENDING", frame_index: 99 });
    await c.bin(encodeBinaryFrame(SID, "frame", 0, JPEG));
    expect(c.last()).toEqual({ type: "frame_ack", frame_index: 0 });
  });

  test("session mismatch in JSON and in the binary header keeps the connection", async () => {
    const c = await ready();
    await c.text(audioMeta(0, WEBM.length, { session_id: OTHER }));
    expect(c.last()).toMatchObject({ code: "SESSION_MISMATCH", chunk_index: 0 });
    await c.text(audioMeta(0, WEBM.length));
    await c.bin(encodeBinaryFrame(OTHER, "audio", 0, WEBM));
    expect(c.last()).toMatchObject({ code: "SESSION_MISMATCH", chunk_index: 0 });
    await c.bin(encodeBinaryFrame(SID, "audio", 0, WEBM));
    expect(c.last()).toEqual({ type: "audio_ack", chunk_index: 0 });
    expect(c.closed).toEqual([]);
  });

  test("a malformed binary header closes with 4400", async () => {
    const c = await ready();
    await c.bin(new Uint8Array(10));
    expect(c.last()).toMatchObject({ code: "MALFORMED_BINARY_HEADER" });
    expect(c.closed).toEqual([{ code: 4400, reason: "MALFORMED_BINARY_HEADER" }]);
  });

  test("upstream failure: error with the index, nothing acked, re-send works", async () => {
    const c = await ready();
    storage.failNext = new AppError("UPSTREAM_UNAVAILABLE");
    await c.text(audioMeta(0, WEBM.length));
    await c.bin(encodeBinaryFrame(SID, "audio", 0, WEBM));
    expect(c.last()).toMatchObject({ code: "UPSTREAM_UNAVAILABLE", chunk_index: 0 });
    await c.text(audioMeta(0, WEBM.length));
    await c.bin(encodeBinaryFrame(SID, "audio", 0, WEBM));
    expect(c.last()).toEqual({ type: "audio_ack", chunk_index: 0 });
  });

  test("an unexpected failure is INTERNAL without details", async () => {
    const c = await ready();
    storage.failNext = new Error("disk on fire at /secret/path") as AppError;
    await c.text(audioMeta(0, WEBM.length));
    await c.bin(encodeBinaryFrame(SID, "audio", 0, WEBM));
    expect(c.last()).toEqual({ type: "error", code: "INTERNAL", message: "internal error", chunk_index: 0 });
  });
});

describe("bad text messages keep the connection", () => {
  test.each([
    ["{oops", "INVALID_JSON"],
    ["[]", "INVALID_JSON"],
    [JSON.stringify({ type: "hello" }), "UNKNOWN_MESSAGE_TYPE"],
    [JSON.stringify(audioMeta(-1, 8)), "INVALID_MESSAGE"],
    [JSON.stringify(audioMeta(0, 8, { start_timestamp: "soon" })), "INVALID_MESSAGE"],
  ])("%s -> %s", async (msg, code) => {
    const c = await ready();
    await c.text(msg);
    expect(c.last()).toMatchObject({ type: "error", code });
    expect(c.closed).toEqual([]);
  });
});

describe("session_complete", () => {
  test("waits for in-flight blobs, reports totals and missing indices, then refuses media", async () => {
    const c = await ready();
    for (const i of [0, 2]) {
      await c.text(audioMeta(i, WEBM.length));
      await c.s.receiveBinary(encodeBinaryFrame(SID, "audio", i, WEBM));
    }
    await c.text({ type: "session_complete", session_id: SID, timestamp: T1, total_chunks: 4, total_frames: 1 });
    expect(c.last()).toEqual({
      type: "session_complete_ack",
      session_id: SID,
      status: "completed",
      total_chunks: 2,
      total_frames: 0,
      missing_chunks: [1, 3],
      missing_frames: [0],
      missing_chunks_count: 2,
      missing_frames_count: 1,
    });
    await c.text(audioMeta(1, WEBM.length));
    expect(c.last()).toMatchObject({ code: "SESSION_COMPLETED", chunk_index: 1 });
  });

  test("missing lists hold at most 1,000 indices, with exact counts", async () => {
    const c = await ready();
    await c.text({ type: "session_complete", session_id: SID, total_chunks: 5000, total_frames: 1001 });
    const ack = c.last() as { missing_chunks: number[]; missing_frames: number[]; missing_chunks_count: number; missing_frames_count: number };
    expect([ack.missing_chunks.length, ack.missing_chunks_count, ack.missing_frames.length, ack.missing_frames_count]).toEqual([1000, 5000, 1000, 1001]);
    expect(ack.missing_chunks.slice(0, 3)).toEqual([0, 1, 2]);
    expect(JSON.stringify(ack).length).toBeLessThan(12_000);
  });

  test("a repeat is answered from the first answer without another call; other totals are refused", async () => {
    const c = await ready();
    const complete = { type: "session_complete", session_id: SID, total_chunks: 3, total_frames: 0 };
    await c.text(complete);
    const first = c.last();
    for (let i = 0; i < 5; i++) {
      await c.text(complete);
      expect(c.last()).toEqual(first!);
    }
    expect(metadata.completes).toBe(1);
    await c.text({ ...complete, total_chunks: 999_999 });
    expect(c.last()).toMatchObject({ type: "error", code: "SESSION_COMPLETED" });
    expect(metadata.completes).toBe(1);
    expect(c.closed).toEqual([]);
  });
});

describe("access: the upload token", () => {
  /** A refused init: its code and close, and nothing asked of or stored by the metadata service. */
  async function refused(msg: object, code: string, close: number, reason: string) {
    const opensBefore = metadata.opens;
    const c = connect();
    await c.text(msg);
    expect(c.last()).toMatchObject({ type: "error", code });
    expect(c.closed).toEqual([{ code: close, reason: code }]);
    expect(c.events.rejected).toEqual([`${code}:${reason}`]);
    expect(metadata.opens).toBe(opensBefore);
    // the connection is done: a valid init afterwards is ignored
    await c.text(init());
    expect(c.sent.filter((m) => m.type === "session_init_ack")).toHaveLength(0);
    return c;
  }

  test.each([
    ["no token", { token: undefined }, "TOKEN_INVALID", "missing"],
    ["an empty token", { token: "" }, "TOKEN_INVALID", "missing"],
    ["a forged token", { token: "forged" }, "TOKEN_INVALID", "bad_signature"],
    ["a token that is not a string", { token: 42 }, "TOKEN_INVALID", "malformed"],
    ["another interview in the message", { interview_session_id: 2 }, "FORBIDDEN", "interview_mismatch"],
    ["another user in the message", { user_id: 8 }, "FORBIDDEN", "user_mismatch"],
    ["a token bound to another session", { token: "tok-bound-other" }, "FORBIDDEN", "session_mismatch"],
  ])("%s: refused before anything is stored", async (_name, extra, code, reason) => {
    await refused(init(extra), code, 4403, reason);
    expect(metadata.sessions.size).toBe(0);
  });

  test("a new session takes the token's interview and user when the message names none", async () => {
    const c = connect();
    await c.text({ type: "session_init", session_id: SID, token: "tok" });
    expect(c.last()).toMatchObject({ type: "session_init_ack" });
    expect(metadata.sessions.get(SID)).toEqual({ completed: false, interview: 1, user: 7, epoch: 1, owner: "gw-test" });
  });

  test("continuing and taking over need the same interview and user; a foreign token changes nothing", async () => {
    const a = await ready();
    for (const token of ["tok-other-user", "tok-other-interview"]) {
      await refused({ type: "session_init", session_id: SID, token }, "FORBIDDEN", 4403, "owner_mismatch");
    }
    expect(a.closed).toEqual([]); // the candidate was not taken over
    expect(registry.holds(SID)).toBe(true);
    // the same candidate with another of their tokens, or one bound to this session, may take over
    const b = connect();
    await b.text(init({ token: "tok-bound" }));
    expect(b.last()).toMatchObject({ type: "session_init_ack" });
    expect(a.closed).toEqual([{ code: 4409, reason: "SESSION_TAKEN_OVER" }]);
  });

  test("a session created under another owner between the check and the open is FORBIDDEN", async () => {
    const c = connect();
    const realStatus = metadata.status.bind(metadata);
    metadata.status = async (sid) => {
      const r = realStatus(sid); // not found yet...
      metadata.sessions.set(SID, { completed: false, interview: 1, user: 99, epoch: 1, owner: "gw-x" }); // ...then someone else creates it
      return r;
    };
    await c.text(init());
    expect(c.closed).toEqual([{ code: 4403, reason: "FORBIDDEN" }]);
    expect(metadata.sessions.get(SID)?.user).toBe(99);
  });

  test("at most N sessions per token at once (4431); a slot frees when its connection goes", async () => {
    const a = await ready(); // SID under jti-1
    const b = connect();
    await b.text(init({ session_id: OTHER }));
    expect(b.last()).toMatchObject({ type: "session_init_ack" });
    const third = "2c5ea4c0-4067-11e9-8bad-9b1deb4d3b7d";
    const c = connect();
    await c.text(init({ session_id: third }));
    expect(c.closed).toEqual([{ code: 4431, reason: "TOO_MANY_SESSIONS" }]);
    expect(metadata.sessions.has(third)).toBe(false);
    // a takeover of a session already counted is not a new one
    const d = connect();
    await d.text(init());
    expect(d.last()).toMatchObject({ type: "session_init_ack" });
    a.s.disconnected();
    d.s.disconnected();
    const e = connect();
    await e.text(init({ session_id: third }));
    expect(e.last()).toMatchObject({ type: "session_init_ack" });
  });
});

describe("flow control", () => {
  test("blobs beyond maxBufferedBytes without acks close the connection with 4429", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const stalled: StorageService = { put: async (ref, d, h) => (await gate, storage.put(ref, d, h)), delete: (r) => storage.delete(r) };
    const c = connect(stalled);
    await c.text(init());
    const frame = encodeBinaryFrame(SID, "frame", 0, JPEG); // 70 bytes
    for (let i = 0; i < 4; i++) await c.s.receiveText(JSON.stringify(frameMeta(i, JPEG.length)));
    for (let i = 0; i < 4; i++) void c.s.receiveBinary(encodeBinaryFrame(SID, "frame", i, JPEG)); // 280 bytes buffered
    expect(c.closed).toEqual([]);
    void c.s.receiveBinary(frame); // 350 > 300
    expect(c.closed).toEqual([{ code: 4429, reason: "BUFFER_LIMIT_EXCEEDED" }]);
    release();
    await c.s.drain();
  });

  test("text messages count too: a text flood queued behind a stalled message closes with 4429", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const stalled: StorageService = { put: async (ref, d, h) => (await gate, storage.put(ref, d, h)), delete: (r) => storage.delete(r) };
    const c = connect(stalled);
    await c.text(init());
    await c.text(frameMeta(0, JPEG.length));
    void c.s.receiveBinary(encodeBinaryFrame(SID, "frame", 0, JPEG)); // 70 bytes, stalled in storage
    // session_complete waits for the stalled blob, so every text after it waits in the queue
    void c.s.receiveText(JSON.stringify({ type: "session_complete", session_id: SID, timestamp: T0, total_chunks: 0, total_frames: 1 }));
    const junk = "x".repeat(50);
    let sent = 0;
    while (c.closed.length === 0 && sent < 100) void c.s.receiveText(junk), sent++;
    expect(c.closed).toEqual([{ code: 4429, reason: "BUFFER_LIMIT_EXCEEDED" }]);
    expect(sent).toBeLessThan(6); // 70 + ~100 + 50 n > 300
    release();
    await c.s.drain();
  });

  test("a handled text message leaves the budget", async () => {
    const c = await ready();
    for (let i = 0; i < 20; i++) await c.text("x".repeat(250)); // each alone fits; 20 together would not
    expect(c.closed).toEqual([]);
    expect(c.sent.filter((m) => m.type === "error" && m.code === "INVALID_JSON")).toHaveLength(20);
  });

  test("the gateway-wide budget: a connection within its own budget is closed when the total is full", async () => {
    const total = new ByteBudget(1000);
    expect(total.tryReserve(900)).toBe(true); // other connections hold 900 bytes
    const a = connect(storage, { totalBuffered: total });
    await a.text(init()); // ~150 bytes: within a's 300, not within the total
    expect(a.closed).toEqual([{ code: 4429, reason: "BUFFER_LIMIT_EXCEEDED" }]);
    expect(a.sent.at(-1)).toMatchObject({ type: "error", code: "BUFFER_LIMIT_EXCEEDED", message: expect.stringContaining("gateway") });
    expect(total.used).toBe(900);
    total.release(900);
    const b = connect(storage, { totalBuffered: total });
    await b.text(init());
    await b.text(frameMeta(0, JPEG.length));
    await b.bin(encodeBinaryFrame(SID, "frame", 0, JPEG));
    expect(b.sent.at(-1)).toEqual({ type: "frame_ack", frame_index: 0 });
    expect(total.used).toBe(0); // handled texts and acked blobs gave their bytes back
  });

  test("acked and refused blobs leave the budget", async () => {
    const c = await ready();
    for (let i = 0; i < 10; i++) {
      await c.text(frameMeta(i, JPEG.length));
      await c.bin(encodeBinaryFrame(SID, "frame", i, JPEG));
      await c.bin(encodeBinaryFrame(SID, "frame", 100 + i, JPEG)); // METADATA_MISSING
    }
    expect(c.closed).toEqual([]);
    expect(c.sent.filter((m) => m.type === "frame_ack")).toHaveLength(10);
  });
});

describe("concurrency", () => {
  test("blobs of one session are stored concurrently, at most maxInFlight at once; all are acked", async () => {
    let active = 0;
    let peak = 0;
    const slow: StorageService = {
      put: async (ref, d, h) => {
        active++;
        peak = Math.max(peak, active);
        await Bun.sleep(5);
        active--;
        return storage.put(ref, d, h);
      },
      delete: (r) => storage.delete(r),
    };
    const c = connect(slow, { limits: { maxBufferedBytes: 1000 } }); // 4 frames + the trailing init text
    await c.text(init());
    for (let i = 0; i < 4; i++) await c.s.receiveText(JSON.stringify(frameMeta(i, JPEG.length)));
    for (let i = 0; i < 4; i++) void c.s.receiveBinary(encodeBinaryFrame(SID, "frame", i, JPEG));
    await c.s.receiveText(JSON.stringify(init()));
    await c.s.drain();
    expect(peak).toBe(limits.maxInFlight); // not one at a time: the next blob does not wait for the previous ack
    expect(c.sent.filter((m) => m.type === "frame_ack")).toHaveLength(4);
  });
});

describe("resume: session_init_ack says what is stored", () => {
  const store = async (c: ReturnType<typeof connect>, kind: "audio" | "frame", i: number) => {
    await c.text(kind === "audio" ? audioMeta(i, WEBM.length) : frameMeta(i, JPEG.length));
    await c.bin(encodeBinaryFrame(SID, kind, i, kind === "audio" ? WEBM : JPEG));
    expect(c.last()).toMatchObject({ type: kind === "audio" ? "audio_ack" : "frame_ack" });
  };

  test("a new session's ack is the seed's, exactly; a resumed one lists the stored ranges", async () => {
    const a = connect();
    await a.text(init());
    expect(a.last()).toEqual({ type: "session_init_ack", session_id: SID, status: "ready" });
    for (const i of [0, 1, 2, 4, 5, 6, 7, 8, 9]) await store(a, "audio", i);
    await store(a, "frame", 3);
    // a repeated init on the same connection: the seed's fields only (no new lookup)
    await a.text(init());
    expect(a.last()).toEqual({ type: "session_init_ack", session_id: SID, status: "ready" });
    a.s.disconnected();

    const b = connect();
    await b.text(init());
    expect(b.last()).toEqual({
      type: "session_init_ack",
      session_id: SID,
      status: "ready",
      stored: { chunks: [[0, 2], [4, 9]], frames: [[3, 3]] },
      stored_truncated: false,
    });
  });

  test("a resumed session with nothing stored gets empty lists", async () => {
    (await ready()).s.disconnected();
    const b = connect();
    await b.text(init());
    expect(b.last()).toMatchObject({ stored: { chunks: [], frames: [] }, stored_truncated: false });
  });

  test("bounded: the metadata service's flag is passed on, and more than MAX_STORED_RANGES are cut here too", async () => {
    (await ready()).s.disconnected();
    metadata.storedAnswer = { chunks: [[0, 0]], frames: [], truncated: true };
    const b = connect();
    await b.text(init());
    expect(b.last()).toMatchObject({ stored: { chunks: [[0, 0]], frames: [] }, stored_truncated: true });
    b.s.disconnected();

    const many = Array.from({ length: MAX_STORED_RANGES + 5 }, (_, i): IndexRange => [2 * i, 2 * i]);
    metadata.storedAnswer = { chunks: [], frames: many, truncated: false };
    const c = connect();
    await c.text(init());
    const ack = c.last() as { stored: { frames: IndexRange[] }; stored_truncated: boolean };
    expect(ack.stored.frames).toHaveLength(MAX_STORED_RANGES);
    expect(ack.stored.frames.at(-1)).toEqual([2 * (MAX_STORED_RANGES - 1), 2 * (MAX_STORED_RANGES - 1)]);
    expect(ack.stored_truncated).toBe(true);
  });

  test("a metadata service that reports no ranges: the seed's ack", async () => {
    (await ready()).s.disconnected();
    const open = metadata.openSession.bind(metadata);
    metadata.openSession = async (p) => {
      const r = await open(p);
      return { resumed: r.resumed, ownerEpoch: r.ownerEpoch };
    };
    const b = connect();
    await b.text(init());
    expect(b.last()).toEqual({ type: "session_init_ack", session_id: SID, status: "ready" });
  });
});

describe("capture_event", () => {
  const ev = (i: number, extra: object = {}) => ({ type: "capture_event", session_id: SID, event_index: i, kind: "silence", phase: "began", at: T1, detail: { seconds: 20 }, ...extra });

  test("is stored and acked; the same again is acked again; other content under its index is refused", async () => {
    const c = await ready();
    await c.text(ev(0));
    expect(c.last()).toEqual({ type: "capture_event_ack", session_id: SID, event_index: 0 });
    expect(metadata.captureEvents.get(`${SID}/0`)).toMatchObject({ kind: "silence", phase: "began", detailJson: '{"seconds":20}', ownerEpoch: 1 });
    await c.text(ev(0));
    expect(c.last()).toEqual({ type: "capture_event_ack", session_id: SID, event_index: 0 });
    await c.text(ev(0, { phase: "ended" }));
    expect(c.last()).toMatchObject({ type: "error", code: "INDEX_CONFLICT", event_index: 0 });
    expect(metadata.captureEvents.get(`${SID}/0`)?.phase).toBe("began");
    expect(c.closed).toEqual([]);
  });

  test("a bad one is refused with its field and the connection goes on", async () => {
    const c = await ready();
    await c.text(ev(1, { kind: "bored" }));
    expect(c.last()).toMatchObject({ type: "error", code: "INVALID_MESSAGE", field: "kind" });
    await c.text(ev(2));
    expect(c.last()).toEqual({ type: "capture_event_ack", session_id: SID, event_index: 2 });
    expect(metadata.captureEvents.size).toBe(1);
  });

  test("before session_init it closes like media does; for another session it is refused", async () => {
    const c = connect();
    await c.text(ev(0));
    expect(c.closed[0]?.code).toBe(4401);
    const d = await ready();
    await d.text(ev(0, { session_id: OTHER }));
    expect(d.last()).toMatchObject({ code: "SESSION_MISMATCH", event_index: 0 });
  });

  test("an upstream failure is a retryable error for that event", async () => {
    const c = await ready();
    const fail = new AppError("UPSTREAM_UNAVAILABLE");
    const orig = metadata.recordCaptureEvent.bind(metadata);
    metadata.recordCaptureEvent = async () => {
      throw fail;
    };
    await c.text(ev(3));
    expect(c.last()).toMatchObject({ type: "error", code: "UPSTREAM_UNAVAILABLE", event_index: 3 });
    metadata.recordCaptureEvent = orig;
    await c.text(ev(3));
    expect(c.last()).toEqual({ type: "capture_event_ack", session_id: SID, event_index: 3 });
  });
});
