import { beforeEach, describe, expect, test } from "bun:test";
import { unzipSync } from "fflate";
import type { BlobRef, WriteOutcome } from "../../shared/blob";
import { AppError, ERRORS } from "../../shared/errors";
import { createLogger } from "../../shared/log";
import type { InterviewSummary, StoredChunk, StoredFrame } from "../../shared/review";
import { sha256Hex } from "../../shared/sha256";
import { apiKeyId, createApiKeyChecker } from "../core/api-keys";
import type { InterviewRetention, SessionSummary } from "../core/ports";
import { Review, type ReviewPorts } from "../core/review";
import { createTokenKeys, mintReviewerToken, mintUploadToken, verifyAnyToken, verifyUploadToken } from "../core/tokens";
import { createHttpHandler, type HttpDeps } from "./http";
import { createReviewRoutes, rangeResponse, type SessionAudio } from "./http-review";

const KEY = "operator-key-0123456789abcdefghijklmnop";
const SECRET = "token-secret-0123456789abcdefghijklmnop";
const SID = "0f8fad5b-d9cb-469f-a165-70867728950e";
const OTHER = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";
const GW = "http://gw";

const keys = createTokenKeys([SECRET]);
let logLines: string[];
let refusals: string[];
/** The route each refusal was counted on, in order. */
let refusalRoutes: string[];
let minted: number;
let sessions: Map<string, SessionSummary>;
let interviews: Set<number>;
let handle: (req: Request) => Promise<Response>;

function summary(sessionId: string, interviewSessionId: number | null, userId: number | null): SessionSummary {
  return { sessionId, status: "active", totalChunks: 3, totalFrames: 1, startedAtMs: 1_765_881_000_000, lastActivityMs: 1_765_881_010_000, interviewSessionId, userId, isConnected: false };
}

function handler(over: Partial<HttpDeps> = {}) {
  return createHttpHandler({
    status: async (id) => {
      const s = sessions.get(id);
      if (!s) throw new AppError("SESSION_NOT_FOUND");
      return s;
    },
    sessionAnalysis: async () => {
      throw new AppError("SESSION_NOT_FOUND");
    },
    createInterviewSession: async () => {
      const id = interviews.size + 1;
      interviews.add(id);
      return id;
    },
    getInterviewSession: async (id) => {
      if (!interviews.has(id)) throw new AppError("INTERVIEW_SESSION_NOT_FOUND");
    },
    retention: {
      requestErasure: async () => {
        throw new AppError("INTERVIEW_SESSION_NOT_FOUND");
      },
      setLegalHold: async () => {
        throw new AppError("INTERVIEW_SESSION_NOT_FOUND");
      },
      setRetention: async () => {
        throw new AppError("INTERVIEW_SESSION_NOT_FOUND");
      },
    },
    apiKeys: createApiKeyChecker([KEY]),
    verifyToken: (t) => verifyAnyToken(keys, t),
    mintToken: (r) => mintUploadToken(keys, r),
    tokenDefaultTtlS: 14_400,
    tokenMaxTtlS: 86_400,
    ready: async () => true,
    corsAllowedOrigins: ["http://localhost:5173"],
    events: { refused: (code, reason, route) => void (refusals.push(`${code}:${reason}`), refusalRoutes.push(route)), minted: () => void minted++ },
    log: createLogger({ service: "gateway" }, { level: "debug", write: (l) => logLines.push(l) }),
    ...over,
  });
}

const bearer = (credential: string) => ({ authorization: `Bearer ${credential}` });
const post = (path: string, body: unknown, headers: Record<string, string> = bearer(KEY)) =>
  handle(new Request(`${GW}${path}`, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) }));
const get = (path: string, headers: Record<string, string> = {}) => handle(new Request(`${GW}${path}`, { headers }));
const json = async (r: Response) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> });

async function tokenFor(interview: number, user: number, extra: object = {}): Promise<string> {
  const r = await json(await post(`/interview-sessions/${interview}/upload-tokens`, { user_id: user, ...extra }));
  expect(r.status).toBe(201);
  return r.body.token as string;
}

beforeEach(() => {
  logLines = [];
  refusals = [];
  refusalRoutes = [];
  minted = 0;
  sessions = new Map();
  interviews = new Set([7, 8]);
  handle = handler();
});

describe("operator routes need an api key", () => {
  test.each([
    ["no Authorization", {}],
    ["a wrong key", bearer("x".repeat(40))],
    ["not a bearer", { authorization: `Basic ${KEY}` }],
  ])("%s: 401 API_KEY_INVALID, nothing created or minted", async (_n, headers) => {
    expect(await json(await post("/interview-sessions", {}, headers))).toEqual({
      status: 401,
      body: { type: "error", code: "API_KEY_INVALID", message: ERRORS.API_KEY_INVALID.description },
    });
    expect((await post("/interview-sessions/7/upload-tokens", { user_id: 1 }, headers)).status).toBe(401);
    expect(interviews.size).toBe(2);
    expect(minted).toBe(0);
    expect(refusals).toHaveLength(2);
    expect(refusals[0]).toMatch(/^API_KEY_INVALID:(missing|wrong|malformed)$/);
  });

  test("an upload token is not an api key", async () => {
    const t = await tokenFor(7, 1);
    expect((await post("/interview-sessions", {}, bearer(t))).status).toBe(401);
  });

  test("create an interview: 201; bad bodies 400", async () => {
    expect(await json(await post("/interview-sessions", { title: "round 2" }))).toEqual({ status: 201, body: { interview_session_id: 3 } });
    expect((await post("/interview-sessions", "{x")).status).toBe(400);
    expect((await post("/interview-sessions", { title: 5 })).status).toBe(400);
  });
});

describe("POST /interview-sessions/{id}/upload-tokens", () => {
  test("mints a token bound to the interview and user (and the session when asked), valid ttl_s seconds", async () => {
    const before = Date.now();
    const r = await json(await post("/interview-sessions/7/upload-tokens", { user_id: 42, session_id: SID, ttl_s: 7200 }));
    expect(r.status).toBe(201);
    expect(Object.keys(r.body).sort()).toEqual(["expires_at", "interview_session_id", "session_id", "token", "user_id"]);
    expect(r.body).toMatchObject({ interview_session_id: 7, user_id: 42, session_id: SID });
    expect(r.body.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const exp = Date.parse(r.body.expires_at as string);
    expect(exp).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 7_200_000);
    expect(exp).toBeLessThanOrEqual(Date.now() + 7_200_000);
    const claims = await verifyUploadToken(keys, r.body.token);
    expect(claims).toMatchObject({ interviewSessionId: 7, userId: 42, sessionId: SID });
    expect(minted).toBe(1);
  });

  test("default ttl 4 h; no session_id in the answer when none was asked", async () => {
    const r = await json(await post("/interview-sessions/8/upload-tokens", { user_id: 0 }));
    expect(r.body).not.toHaveProperty("session_id");
    const c = await verifyUploadToken(keys, r.body.token);
    expect(c.exp - c.iat).toBe(14_400);
    expect(c).toMatchObject({ interviewSessionId: 8, userId: 0, sessionId: null });
  });

  test.each([
    ["no user_id", {}, "user_id"],
    ["a negative user_id", { user_id: -1 }, "user_id"],
    ["a string user_id", { user_id: "42" }, "user_id"],
    ["a bad session_id", { user_id: 1, session_id: SID.toUpperCase() }, "session_id"],
    ["ttl_s 0", { user_id: 1, ttl_s: 0 }, "ttl_s"],
    ["ttl_s over 24 h", { user_id: 1, ttl_s: 86_401 }, "ttl_s"],
  ])("%s: 400 INVALID_MESSAGE", async (_n, body, field) => {
    const r = await json(await post("/interview-sessions/7/upload-tokens", body));
    expect(r).toMatchObject({ status: 400, body: { code: "INVALID_MESSAGE" } });
    expect(r.body.message).toContain(field);
    expect(minted).toBe(0);
  });

  test("an unknown or impossible interview: 404 INTERVIEW_SESSION_NOT_FOUND", async () => {
    for (const id of ["9", "0", "007", "abc", "%zz", "99999999999999999999"]) {
      expect(await json(await post(`/interview-sessions/${id}/upload-tokens`, { user_id: 1 }))).toMatchObject({ status: 404, body: { code: "INTERVIEW_SESSION_NOT_FOUND" } });
    }
    expect(minted).toBe(0);
  });
});

describe("GET /sessions/{id}/status", () => {
  beforeEach(() => {
    sessions.set(SID, summary(SID, 7, 42));
  });

  test("with the api key, or with a token of the session's interview and user", async () => {
    const r = await json(await get(`/sessions/${SID}/status`, bearer(KEY)));
    expect(r).toEqual({
      status: 200,
      body: { session_id: SID, status: "active", total_chunks: 3, total_frames: 1, started_at: "2025-12-16T10:30:00.000Z", last_activity: "2025-12-16T10:30:10.000Z", is_connected: false },
    });
    expect((await get(`/sessions/${SID}/status`, bearer(await tokenFor(7, 42)))).status).toBe(200);
    expect((await get(`/sessions/${SID}/status`, bearer(await tokenFor(7, 42, { session_id: SID })))).status).toBe(200);
  });

  test("without a bearer, or with a bad one: 401 TOKEN_INVALID", async () => {
    for (const headers of [{}, bearer("eyJhbGciOiJub25lIn0.e30."), { authorization: "Bearer" }, bearer(KEY.slice(1))]) {
      expect(await json(await get(`/sessions/${SID}/status`, headers))).toMatchObject({ status: 401, body: { code: "TOKEN_INVALID" } });
    }
  });

  test("a foreign token gets exactly what an unknown session gets", async () => {
    const unknown = await get(`/sessions/${OTHER}/status`, bearer(KEY));
    const expected = { status: unknown.status, body: await unknown.text() };
    expect(expected.status).toBe(404);
    for (const t of [await tokenFor(8, 42), await tokenFor(7, 43), await tokenFor(7, 42, { session_id: OTHER })]) {
      const r = await get(`/sessions/${SID}/status`, bearer(t));
      expect({ status: r.status, body: await r.text() }).toEqual(expected);
      const u = await get(`/sessions/${OTHER}/status`, bearer(t));
      expect({ status: u.status, body: await u.text() }).toEqual(expected);
    }
    expect(refusals.filter((r) => r.startsWith("FORBIDDEN:"))).toHaveLength(3);
  });

  test("malformed ids, including a malformed percent-encoding: 400 INVALID_SESSION_ID, not 500", async () => {
    for (const id of ["not-a-uuid", SID.toUpperCase(), "%E0%A4%A", "%zz", "%"]) {
      expect(await json(await get(`/sessions/${id}/status`, bearer(KEY)))).toMatchObject({ status: 400, body: { code: "INVALID_SESSION_ID" } });
    }
    expect(logLines.filter((l) => l.includes('"level":"error"'))).toEqual([]);
  });
});

describe("origins", () => {
  test("an allowed origin gets CORS headers with Authorization allowed; another is refused 403 without them", async () => {
    const pre = await handle(new Request(`${GW}/interview-sessions`, { method: "OPTIONS", headers: { origin: "http://localhost:5173" } }));
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(pre.headers.get("access-control-allow-headers")).toContain("authorization");
    const foreign = await post("/interview-sessions", {}, { ...bearer(KEY), origin: "https://evil.example" });
    expect(await json(foreign)).toMatchObject({ status: 403, body: { code: "ORIGIN_NOT_ALLOWED" } });
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull();
    expect(interviews.size).toBe(2);
    // no Origin: a server or curl
    expect((await post("/interview-sessions", {})).status).toBe(201);
  });

  test("the empty list allows no origin; \"*\" allows any", async () => {
    handle = handler({ corsAllowedOrigins: [] });
    expect((await post("/interview-sessions", {}, { ...bearer(KEY), origin: "http://localhost:5173" })).status).toBe(403);
    handle = handler({ corsAllowedOrigins: ["*"] });
    const r = await post("/interview-sessions", {}, { ...bearer(KEY), origin: "https://any.example" });
    expect(r.status).toBe(201);
    expect(r.headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe("secrets hygiene", () => {
  test("no log line, error body or refusal label holds a key or a token", async () => {
    sessions.set(SID, summary(SID, 7, 42));
    const token = await tokenFor(7, 42);
    const bodies: string[] = [];
    const keep = async (r: Response) => void bodies.push(await r.text());
    await keep(await get(`/sessions/${SID}/status`, bearer(token)));
    await keep(await get(`/sessions/${SID}/status`, bearer(`${token}x`)));
    await keep(await get(`/sessions/${SID}/status`, bearer(KEY)));
    await keep(await post("/interview-sessions", {}, bearer(`${KEY}x`)));
    await keep(await post("/interview-sessions/7/upload-tokens", { user_id: 1 }, bearer(token)));
    // an unexpected failure is logged (its cause only: the request's credentials are not part of it)
    handle = handler({ status: async () => Promise.reject(new Error("boom")) });
    await keep(await get(`/sessions/${SID}/status`, bearer(KEY)));
    expect(logLines.some((l) => l.includes('"msg":"internal error"'))).toBe(true);
    const everything = [...logLines, ...bodies, ...refusals].join("\n");
    expect(logLines.length).toBeGreaterThan(0);
    for (const secret of [KEY, token, token.split(".")[2]!, SECRET]) expect(everything).not.toContain(secret);
  });
});

describe("GET /sessions/{id}/analysis", () => {
  const T0 = 1_765_881_000_000;
  let asked: Array<[string, number, number, number]>;
  const page = {
    chunks: [{ chunkIndex: 0, processed: true, failed: false, error: "", transcription: "hello", analysisJson: JSON.stringify({ speech_ratio: 0.5, words: [{ text: "hello", start_ms: 100, end_ms: 400, probability: 0.9 }] }), startMs: T0, endMs: T0 + 10_000 }],
    frames: [],
    moreChunks: false,
    moreFrames: false,
    timing: [{ chunkIndex: 0, startMs: T0, endMs: T0 + 10_000, processed: true, failed: false, speechSegmentsJson: "[[100, 400]]" }],
    frameCounts: { total: 0, processed: 0, failed: 0, withoutFace: 0, black: 0, frozen: 0 },
    captureEvents: [],
    timelineStartMs: T0,
  };
  beforeEach(() => {
    asked = [];
    sessions = new Map([[SID, summary(SID, 1, 7)]]);
    handle = handler({
      sessionAnalysis: async (id, c, f, l) => {
        asked.push([id, c, f, l]);
        return page;
      },
    });
  });

  test("an api key reads it: one timeline, private", async () => {
    const r = await get(`/sessions/${SID}/analysis`, bearer(KEY));
    expect(r.headers.get("cache-control")).toBe("private, no-store");
    const { status, body } = await json(r);
    expect(status).toBe(200);
    expect(body).toMatchObject({ session_id: SID, timeline_start: new Date(T0).toISOString(), summary: { talk_time_ms: 300 } });
    expect((body.chunks as Array<{ analysis: { words: unknown[] } }>)[0]!.analysis.words).toEqual([{ text: "hello", start_ms: 100, end_ms: 400, probability: 0.9 }]);
    expect(asked).toEqual([[SID, -1, -1, 100]]);
  });

  test("paging parameters are checked", async () => {
    await get(`/sessions/${SID}/analysis?chunks_after=4&frames_after=10&limit=2`, bearer(KEY));
    expect(asked).toEqual([[SID, 4, 10, 2]]);
    for (const q of ["limit=0", "limit=501", "chunks_after=-2", "frames_after=x", "limit=1.5"]) {
      const { status, body } = await json(await get(`/sessions/${SID}/analysis?${q}`, bearer(KEY)));
      expect([status, body.code], q).toEqual([400, "INVALID_MESSAGE"]);
    }
    expect(asked.length).toBe(1);
  });

  test("a token of the session's candidate reads it; another's gets what an unknown id gets", async () => {
    const own = await mintUploadToken(keys, { interviewSessionId: 1, userId: 7, sessionId: null, ttlS: 60 });
    expect((await get(`/sessions/${SID}/analysis`, bearer(own.token))).status).toBe(200);
    const other = await mintUploadToken(keys, { interviewSessionId: 1, userId: 8, sessionId: null, ttlS: 60 });
    const refused = await json(await get(`/sessions/${SID}/analysis`, bearer(other.token)));
    const unknown = await json(await get(`/sessions/${OTHER}/analysis`, bearer(KEY)));
    expect(refused).toEqual(unknown);
    expect(refused.status).toBe(404);
    expect((await get(`/sessions/${SID}/analysis`)).status).toBe(401);
    expect(asked.length).toBe(1);
  });
});

const send = (method: string, path: string, body?: unknown, headers: Record<string, string> = bearer(KEY)) =>
  handle(new Request(`${GW}${path}`, { method, headers, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) }));

describe("retention routes through the HTTP handler", () => {
  let holds: Map<number, boolean>;
  let days: Map<number, number | null>;
  let erasures: Map<number, { erasureId: number; keyId: string }>;
  let asked: number;

  beforeEach(() => {
    holds = new Map([[7, false], [8, true]]);
    days = new Map();
    erasures = new Map();
    asked = 0;
    // metadata's RetentionService: an interview being erased is gone, a repeat answers the same erasure
    const known = (id: number) => {
      if (!holds.has(id) || erasures.has(id)) throw new AppError("INTERVIEW_SESSION_NOT_FOUND");
    };
    const retention: InterviewRetention = {
      async requestErasure(id, keyId) {
        asked++;
        const e = erasures.get(id);
        if (e) return { erasureId: e.erasureId, state: "running" };
        known(id);
        if (holds.get(id)) throw new AppError("LEGAL_HOLD");
        erasures.set(id, { erasureId: 40 + erasures.size, keyId });
        return { erasureId: erasures.get(id)!.erasureId, state: "pending" };
      },
      async setLegalHold(id, hold) {
        asked++;
        known(id);
        holds.set(id, hold);
        return hold;
      },
      async setRetention(id, d) {
        asked++;
        known(id);
        days.set(id, d);
        return d;
      },
    };
    handle = handler({ retention });
  });

  test("DELETE /interview-sessions/{id}: 202 with the erasure, recorded under the key's id; a repeat answers the same erasure", async () => {
    const r = await send("DELETE", "/interview-sessions/7", undefined, { ...bearer(KEY), origin: "http://localhost:5173" });
    expect(r.status).toBe(202);
    expect(r.headers.get("cache-control")).toBe("no-store");
    expect(r.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(await r.json()).toEqual({ erasure_id: 40, state: "pending" });
    expect(erasures.get(7)!.keyId).toBe(apiKeyId(KEY));
    expect(await json(await send("DELETE", "/interview-sessions/7"))).toEqual({ status: 202, body: { erasure_id: 40, state: "running" } });
    expect(erasures.size).toBe(1);
  });

  test("409 LEGAL_HOLD while held (nothing erased); after the hold is lifted, 202", async () => {
    expect(await json(await send("DELETE", "/interview-sessions/8"))).toEqual({ status: 409, body: { type: "error", code: "LEGAL_HOLD", message: ERRORS.LEGAL_HOLD.description } });
    expect(erasures.size).toBe(0);
    expect(await json(await send("PUT", "/interview-sessions/8/legal-hold", { hold: false }))).toEqual({ status: 200, body: { interview_session_id: 8, legal_hold: false } });
    expect((await send("DELETE", "/interview-sessions/8")).status).toBe(202);
    // and a hold set on 7 blocks it
    expect(await json(await send("PUT", "/interview-sessions/7/legal-hold", { hold: true }))).toEqual({ status: 200, body: { interview_session_id: 7, legal_hold: true } });
    expect((await json(await send("DELETE", "/interview-sessions/7"))).body.code).toBe("LEGAL_HOLD");
  });

  test("404 INTERVIEW_SESSION_NOT_FOUND for an unknown or malformed id, on all three routes", async () => {
    for (const id of ["9", "0", "007", "-1", "abc", "%E0%A4%A", "1".repeat(17)]) {
      expect(await json(await send("DELETE", `/interview-sessions/${id}`)), id).toMatchObject({ status: 404, body: { code: "INTERVIEW_SESSION_NOT_FOUND" } });
      expect((await send("PUT", `/interview-sessions/${id}/legal-hold`, { hold: true })).status, id).toBe(404);
      expect((await send("PUT", `/interview-sessions/${id}/retention`, { retention_days: 3 })).status, id).toBe(404);
    }
    expect(erasures.size).toBe(0);
    expect(logLines.filter((l) => l.includes('"level":"error"'))).toEqual([]);
  });

  test("api key only: none, a wrong one, an upload token or a reviewer token → 401 API_KEY_INVALID before anything is asked", async () => {
    const upload = await tokenFor(7, 42);
    const reviewer = (await mintReviewerToken(keys, { interviewSessionId: 7, ttlS: 60 })).token;
    for (const headers of [{}, bearer("x".repeat(40)), bearer(upload), bearer(reviewer), { authorization: `Basic ${KEY}` }]) {
      expect(await json(await send("DELETE", "/interview-sessions/7", undefined, headers))).toMatchObject({ status: 401, body: { code: "API_KEY_INVALID" } });
      expect((await send("PUT", "/interview-sessions/7/legal-hold", { hold: true }, headers)).status).toBe(401);
      expect((await send("PUT", "/interview-sessions/7/retention", { retention_days: 3 }, headers)).status).toBe(401);
    }
    expect(asked).toBe(0);
    expect(refusals.every((r) => r.startsWith("API_KEY_INVALID:"))).toBe(true);
    expect(new Set(refusalRoutes)).toEqual(new Set(["interview_session", "legal_hold", "retention"]));
  });

  test("PUT …/legal-hold and …/retention: bad bodies are 400 and change nothing", async () => {
    for (const body of [{}, { hold: "yes" }, { hold: 1 }, { hold: null }]) {
      expect(await json(await send("PUT", "/interview-sessions/7/legal-hold", body))).toMatchObject({ status: 400, body: { code: "INVALID_MESSAGE", message: "hold must be true or false" } });
    }
    for (const body of ["{nope", "[true]", "true"]) expect((await json(await send("PUT", "/interview-sessions/7/legal-hold", body))).body.code).toBe("INVALID_JSON");
    for (const body of [{}, { retention_days: 0 }, { retention_days: 3651 }, { retention_days: 1.5 }, { retention_days: "30" }, { retention_days: -1 }]) {
      const message = "retention_days" in body ? "retention_days must be an integer from 1 to 3650, or null" : "retention_days is required (null clears it)";
      expect(await json(await send("PUT", "/interview-sessions/7/retention", body)), JSON.stringify(body)).toMatchObject({ status: 400, body: { code: "INVALID_MESSAGE", message } });
    }
    expect(asked).toBe(0);
    expect(await json(await send("PUT", "/interview-sessions/7/retention", { retention_days: 3650 }))).toEqual({ status: 200, body: { interview_session_id: 7, retention_days: 3650 } });
    expect(await json(await send("PUT", "/interview-sessions/7/retention", { retention_days: null }))).toEqual({ status: 200, body: { interview_session_id: 7, retention_days: null } });
    expect(days.get(7)).toBeNull();
    // retention_days on POST /interview-sessions is checked the same way
    expect(await json(await post("/interview-sessions", { retention_days: 0 }))).toMatchObject({ status: 400, body: { code: "INVALID_MESSAGE", message: "retention_days must be an integer from 1 to 3650, or null" } });
  });

  test("an erased interview is gone for the other routes too; other methods on these paths are no routes", async () => {
    expect((await send("DELETE", "/interview-sessions/7")).status).toBe(202);
    expect((await send("PUT", "/interview-sessions/7/legal-hold", { hold: true })).status).toBe(404);
    for (const [m, p] of [["GET", "/interview-sessions/7/legal-hold"], ["POST", "/interview-sessions/7/retention"], ["PATCH", "/interview-sessions/7"]] as const) {
      expect(await json(await send(m, p, m === "GET" ? undefined : {})), `${m} ${p}`).toMatchObject({ status: 404, body: { code: "NOT_FOUND" } });
    }
  });
});

/**
 * The review routes (http-review.ts) through createHttpHandler, on a Review over in-memory ports:
 * interviews 7 (session SID, completed, 3 chunks and 5 frames; session OPEN, still recording) and
 * 8 (session OTHER); `audio` stands in for the stitcher (adapters/review-audio.ts).
 */
describe("review routes", () => {
  const OPEN = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
  const UNKNOWN = "a3bb189e-8bf9-3888-9912-ace4e6543002";
  const T0 = 1_765_881_000_000;
  const bkey = (r: BlobRef) => `${r.sessionId}/${r.kind}/${r.index}`;
  const enc = (s: string) => new TextEncoder().encode(s);
  let blobs: Map<string, Uint8Array>;
  let rows: Map<string, { chunks: StoredChunk[]; frames: StoredFrame[] }>;
  let seals: Map<string, string>;
  let listed: Array<[number, number, number]>;
  let reviewerMinted: number;
  /** The stand-in track of each session: bytes that differ per session. */
  const track = (sid: string) => Uint8Array.from({ length: 5000 }, (_, i) => (i * 7 + sid.charCodeAt(0)) % 251);

  const store = (sid: string, kind: "audio" | "frame", index: number) => {
    const data = kind === "frame" ? enc(`\xff\xd8 jpeg ${index} of ${sid}`) : enc(`webm ${index} of ${sid}`);
    blobs.set(bkey({ sessionId: sid, kind, index, mediaType: "" }), data);
    const r = rows.get(sid) ?? { chunks: [], frames: [] };
    if (kind === "audio") r.chunks.push({ chunkIndex: index, mediaType: "audio/webm", filePath: "", fileSize: data.byteLength, sha256Hex: sha256Hex(data), startMs: T0 + index * 10_000, endMs: T0 + index * 10_000 + 10_120, durationMs: 10_120 });
    else r.frames.push({ frameIndex: index, chunkIndex: Math.floor(index / 5), mediaType: "image/jpeg", filePath: "", fileSize: data.byteLength, sha256Hex: sha256Hex(data), timestampMs: T0 + index * 2000, offsetMs: (index * 2000) % 10_000 });
    rows.set(sid, r);
  };

  const ports = (): ReviewPorts => {
    const interviewOf = (id: number): InterviewSummary => ({ interviewSessionId: id, title: `interview ${id}`, createdAtMs: T0 - 60_000, mediaSessions: [...sessions.values()].filter((s) => s.interviewSessionId === id).length, lastActivityMs: T0 + 30_000, legalHold: id === 8, retentionDays: id === 7 ? 30 : 0 });
    return {
      listInterviews: async (limit, before, only) => {
        listed.push([limit, before, only]);
        const ids = [...interviews].filter((i) => (only === 0 || i === only) && (before === 0 || i < before)).sort((a, b) => b - a);
        return { interviews: ids.slice(0, limit).map(interviewOf), more: ids.length > limit };
      },
      getInterview: async (id) => {
        if (!interviews.has(id)) throw new AppError("INTERVIEW_SESSION_NOT_FOUND");
        const mine = [...sessions.values()].filter((s) => s.interviewSessionId === id);
        return {
          interview: interviewOf(id),
          sessions: mine.map((s) => ({ sessionId: s.sessionId, userId: s.userId ?? 0, status: s.status, startedAtMs: s.startedAtMs, lastActivityMs: s.lastActivityMs, totalChunks: s.totalChunks, totalFrames: s.totalFrames, storedChunks: rows.get(s.sessionId)?.chunks.length ?? 0, storedFrames: rows.get(s.sessionId)?.frames.length ?? 0, durationMs: 30_000, manifestSha256: seals.get(s.sessionId) ?? "", sealedAtMs: seals.has(s.sessionId) ? T0 + 40_000 : 0 })),
        };
      },
      sessionItems: async (sid, chunksAfter, framesAfter, limit) => {
        const r = rows.get(sid) ?? { chunks: [], frames: [] };
        const c = r.chunks.filter((x) => x.chunkIndex > chunksAfter);
        const f = r.frames.filter((x) => x.frameIndex > framesAfter);
        return { chunks: c.slice(0, limit), frames: f.slice(0, limit), moreChunks: c.length > limit, moreFrames: f.length > limit, manifestSha256: seals.get(sid) ?? "" };
      },
      seal: async (sid, sha) => {
        if (seals.has(sid) && seals.get(sid) !== sha) throw new AppError("SESSION_ALREADY_SEALED");
        seals.set(sid, sha);
        return { sealedAtMs: T0 + 40_000 };
      },
      status: async (sid) => {
        const s = sessions.get(sid);
        if (!s) throw new AppError("SESSION_NOT_FOUND");
        return s;
      },
      getBlob: async (ref) => {
        const b = blobs.get(bkey(ref));
        if (!b) throw new AppError("NOT_FOUND", "no such blob");
        return b;
      },
      putBlob: async (ref, data, sha): Promise<WriteOutcome> => {
        const had = blobs.get(bkey(ref));
        if (had) return sha256Hex(had) === sha ? "identical" : "conflict";
        blobs.set(bkey(ref), data);
        return "created";
      },
      sha256Hex,
    };
  };

  const audio = async (s: SessionSummary): Promise<SessionAudio> => {
    const chunks = rows.get(s.sessionId)?.chunks ?? [];
    const frames = rows.get(s.sessionId)?.frames ?? [];
    if (!chunks.length) return { ogg: new Uint8Array(), originMs: 0, durationMs: 0, chunks: [], gaps: [], frames };
    return { ogg: track(s.sessionId), originMs: T0, durationMs: 30_000, chunks: chunks.map((c) => ({ chunkIndex: c.chunkIndex, startMs: c.chunkIndex * 10_000, endMs: c.chunkIndex * 10_000 + 10_000 })), gaps: [], frames };
  };

  let review: Review;
  beforeEach(async () => {
    blobs = new Map();
    rows = new Map();
    seals = new Map();
    listed = [];
    reviewerMinted = 0;
    sessions.set(SID, { ...summary(SID, 7, 42), status: "completed", totalChunks: 3, totalFrames: 5 });
    sessions.set(OPEN, { ...summary(OPEN, 7, 43), status: "active" });
    sessions.set(OTHER, { ...summary(OTHER, 8, 42), status: "completed", totalChunks: 1, totalFrames: 1 });
    for (let i = 0; i < 3; i++) store(SID, "audio", i);
    for (let i = 0; i < 5; i++) store(SID, "frame", i);
    store(OPEN, "audio", 0);
    store(OTHER, "audio", 0);
    store(OTHER, "frame", 0);
    review = new Review(ports());
    await review.seal(sessions.get(SID)!, { chunks: 3, frames: 5 });
    await review.seal(sessions.get(OTHER)!, { chunks: 1, frames: 1 });
    handle = handler({
      review: createReviewRoutes({
        review,
        audio,
        mintReviewerToken: (r) => (reviewerMinted++, mintReviewerToken(keys, r)),
        tokenDefaultTtlS: 14_400,
        tokenMaxTtlS: 86_400,
        requireApiKey: (req) => createApiKeyChecker([KEY]).check(req.headers.get("authorization")),
        log: createLogger({ service: "gateway" }, { level: "debug", write: (l) => logLines.push(l) }),
      }),
    });
  });

  const reviewerToken = async (body: object = { interview_session_id: 7 }) => {
    const r = await json(await post("/reviewer-tokens", body));
    expect(r.status).toBe(201);
    return r.body.token as string;
  };
  /** Status, headers that matter and body bytes: what "byte-identical" compares. */
  const answer = async (r: Response) => ({ status: r.status, type: r.headers.get("content-type"), cache: r.headers.get("cache-control"), body: Buffer.from(await r.arrayBuffer()).toString("hex") });
  const mediaPaths = (sid: string) => [
    ["GET", `/sessions/${sid}/audio`], ["GET", `/sessions/${sid}/timeline`], ["GET", `/sessions/${sid}/frames/0`],
    ["GET", `/sessions/${sid}/manifest`], ["POST", `/sessions/${sid}/verify`],
  ] as const;

  describe("POST /reviewer-tokens", () => {
    test("api key: 201 with a reviewer token of the interview (or of every one), default 4 h, ttl_s honoured", async () => {
      const before = Math.floor(Date.now() / 1000);
      const r = await post("/reviewer-tokens", { interview_session_id: 7 });
      expect(r.status).toBe(201);
      expect(r.headers.get("cache-control")).toBe("no-store");
      const body = (await r.json()) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(["expires_at", "interview_session_id", "token"]);
      expect(body.interview_session_id).toBe(7);
      const v = await verifyAnyToken(keys, body.token);
      expect(v.kind).toBe("reviewer");
      if (v.kind !== "reviewer") return;
      expect(v.claims.interviewSessionId).toBe(7);
      expect(v.claims.exp - v.claims.iat).toBe(14_400);
      expect(v.claims.iat).toBeGreaterThanOrEqual(before);
      expect(body.expires_at).toBe(new Date(v.claims.exp * 1000).toISOString().replace(".000Z", "Z"));
      // a reviewer token is no upload token
      await expect(verifyUploadToken(keys, body.token)).rejects.toMatchObject({ code: "TOKEN_INVALID" });

      const all = await json(await post("/reviewer-tokens", { ttl_s: 1 }));
      expect(all).toMatchObject({ status: 201, body: { interview_session_id: null } });
      const c = await verifyAnyToken(keys, all.body.token);
      expect(c.kind === "reviewer" && c.claims.interviewSessionId === null && c.claims.exp - c.claims.iat === 1).toBe(true);
      expect((await post("/reviewer-tokens", { ttl_s: 86_400 })).status).toBe(201);
      expect(reviewerMinted).toBe(3);
    });

    test("ttl_s outside 1..24 h, a bad interview id, a bad body: 400; an unknown interview: 404; nothing minted", async () => {
      for (const body of [{ ttl_s: 0 }, { ttl_s: 86_401 }, { ttl_s: 1.5 }, { ttl_s: "60" }, { interview_session_id: -1 }, { interview_session_id: "7" }]) {
        expect(await json(await post("/reviewer-tokens", body)), JSON.stringify(body)).toMatchObject({ status: 400, body: { code: "INVALID_MESSAGE" } });
      }
      expect((await json(await post("/reviewer-tokens", "{x"))).body.code).toBe("INVALID_JSON");
      expect(await json(await post("/reviewer-tokens", { interview_session_id: 9 }))).toMatchObject({ status: 404, body: { code: "INTERVIEW_SESSION_NOT_FOUND" } });
      expect(reviewerMinted).toBe(0);
    });

    test("api key only: no bearer, a wrong key, an upload token or a reviewer token cannot mint one", async () => {
      const reviewer = await reviewerToken({});
      reviewerMinted = 0;
      for (const headers of [{}, bearer("y".repeat(40)), bearer(await tokenFor(7, 42)), bearer(reviewer)]) {
        expect(await json(await post("/reviewer-tokens", { interview_session_id: 7 }, headers))).toMatchObject({ status: 401, body: { code: "API_KEY_INVALID" } });
      }
      expect(reviewerMinted).toBe(0);
    });
  });

  describe("who reads", () => {
    test("a reviewer of interview 7 reads it: the interview, its list, media, timeline, manifest, verify, export", async () => {
      const t = await reviewerToken();
      const list = await json(await get("/interview-sessions", bearer(t)));
      expect(list.body).toMatchObject({ interview_sessions: [{ interview_session_id: 7, title: "interview 7", media_sessions: 2 }], more: false });
      expect(listed).toEqual([[50, 0, 7]]); // the scope goes to metadata, not a filter afterwards
      const detail = await get("/interview-sessions/7", bearer(t));
      expect(detail.headers.get("cache-control")).toBe("private, no-store");
      const d = (await detail.json()) as { legal_hold: boolean; retention_days: number | null; media_sessions: Array<Record<string, unknown>> };
      expect([d.legal_hold, d.retention_days]).toEqual([false, 30]);
      expect(d.media_sessions.map((s) => [s.session_id, s.status, s.sealed])).toEqual([[SID, "completed", true], [OPEN, "active", false]]);
      expect(d.media_sessions[0]!.manifest_sha256).toBe(seals.get(SID)!);
      for (const [m, p] of mediaPaths(SID)) {
        const r = await handle(new Request(`${GW}${p}`, { method: m, headers: bearer(t) }));
        expect(r.status, p).toBe(200);
        expect(r.headers.get("cache-control"), p).toBe("private, no-store");
      }
      const frame = await get(`/sessions/${SID}/frames/3`, bearer(t));
      expect([frame.headers.get("content-type"), frame.headers.get("content-length")]).toEqual(["image/jpeg", String(blobs.get(`${SID}/frame/3`)!.byteLength)]);
      expect(Buffer.from(await frame.arrayBuffer()).equals(Buffer.from(blobs.get(`${SID}/frame/3`)!))).toBe(true);
      const tl = (await (await get(`/sessions/${SID}/timeline`, bearer(t))).json()) as { origin: string; chunks: unknown[]; frames: Array<{ frame_index: number; at_ms: number }> };
      expect(tl.origin).toBe(new Date(T0).toISOString());
      expect(tl.chunks).toHaveLength(3);
      expect(tl.frames.map((f) => [f.frame_index, f.at_ms])).toEqual([[0, 0], [1, 2000], [2, 4000], [3, 6000], [4, 8000]]);
      const manifest = await get(`/sessions/${SID}/manifest`, bearer(t));
      expect(manifest.headers.get("content-type")).toBe("application/json");
      expect(sha256Hex(new Uint8Array(await manifest.arrayBuffer()))).toBe(seals.get(SID)!);
      const v = (await (await send("POST", `/sessions/${SID}/verify`, undefined, bearer(t))).json()) as Record<string, unknown>;
      expect(v).toMatchObject({ ok: true, sealed: true, manifest_intact: true, chunks: 3, frames: 5, summary: "complete, 3 chunks, 5 frames, 0 gaps, hashes match" });
      const zip = await get("/interview-sessions/7/export", bearer(t));
      expect(zip.headers.get("content-type")).toBe("application/zip");
      expect(zip.headers.get("content-disposition")).toBe('attachment; filename="interview-7.zip"');
      const files = unzipSync(new Uint8Array(await zip.arrayBuffer()));
      expect(Object.keys(files).sort()).toEqual([
        `interview-7/${OPEN}/audio.ogg`,
        `interview-7/${SID}/audio.ogg`,
        ...[0, 1, 2, 3, 4].map((i) => `interview-7/${SID}/frames/frame_${i}.jpg`),
        `interview-7/${SID}/manifest.json`,
        "interview-7/interview.json",
      ].sort());
      expect(sha256Hex(files[`interview-7/${SID}/manifest.json`]!)).toBe(seals.get(SID)!);
      expect(Buffer.from(files[`interview-7/${SID}/audio.ogg`]!).equals(Buffer.from(track(SID)))).toBe(true);
      expect(refusals).toEqual([]);
    });

    test("a reviewer of interview 7 gets, for interview 8 and its session, byte for byte what an unknown id gets", async () => {
      const t = await reviewerToken();
      for (const [m, p] of mediaPaths(OTHER)) {
        const foreign = await answer(await handle(new Request(`${GW}${p}`, { method: m, headers: bearer(t) })));
        const unknown = await answer(await handle(new Request(`${GW}${p.replace(OTHER, UNKNOWN)}`, { method: m, headers: bearer(KEY) })));
        expect(foreign, p).toEqual(unknown);
        expect(foreign.status, p).toBe(404);
      }
      for (const p of ["/interview-sessions/8", "/interview-sessions/8/export"]) {
        const foreign = await answer(await get(p, bearer(t)));
        expect(foreign, p).toEqual(await answer(await get(p.replace("8", "99"), bearer(KEY))));
        expect(foreign.status, p).toBe(404);
      }
      expect(refusals).toEqual(Array(7).fill("FORBIDDEN:reviewer_scope"));
      expect(refusalRoutes).toEqual(["audio", "timeline", "frame", "manifest", "verify", "interview", "export"]);
      // the api key reads interview 8; a reviewer of every interview too
      expect((await get(`/sessions/${OTHER}/audio`, bearer(KEY))).status).toBe(200);
      expect((await get("/interview-sessions/8", bearer(await reviewerToken({})))).status).toBe(200);
    });

    test("an upload token reads no media (404, like an unknown id, even its own session's) and cannot list interviews (403)", async () => {
      const own = await tokenFor(7, 42, { session_id: SID });
      expect((await get(`/sessions/${SID}/status`, bearer(own))).status).toBe(200); // what it may read
      for (const [m, p] of mediaPaths(SID)) {
        const r = await answer(await handle(new Request(`${GW}${p}`, { method: m, headers: bearer(own) })));
        expect(r, p).toEqual(await answer(await handle(new Request(`${GW}${p.replace(SID, UNKNOWN)}`, { method: m, headers: bearer(KEY) }))));
      }
      expect(await json(await get("/interview-sessions/7", bearer(own)))).toMatchObject({ status: 404, body: { code: "INTERVIEW_SESSION_NOT_FOUND" } });
      expect(await json(await get("/interview-sessions/7/export", bearer(own)))).toMatchObject({ status: 404, body: { code: "INTERVIEW_SESSION_NOT_FOUND" } });
      expect(await json(await get("/interview-sessions", bearer(own)))).toMatchObject({ status: 403, body: { code: "FORBIDDEN" } });
      expect(listed).toEqual([]);
      // each refusal counted once (the list's 403 as well as the 404s)
      expect(refusals).toEqual(Array(8).fill("FORBIDDEN:upload_token"));
      expect(refusalRoutes).toEqual(["audio", "timeline", "frame", "manifest", "verify", "interview", "export", "interview_sessions"]);
      // no bearer, or a bad one: 401
      for (const headers of [{}, bearer("eyJhbGciOiJub25lIn0.e30.")]) {
        expect((await get(`/sessions/${SID}/audio`, headers)).status).toBe(401);
        expect((await get("/interview-sessions", headers)).status).toBe(401);
      }
    });
  });

  describe("media answers", () => {
    test("audio: 200 whole, 206 for a range (Content-Range), 416 past the end (Content-Range: bytes */size), 200 for a Range it ignores", async () => {
      const whole = track(SID);
      const size = whole.byteLength;
      const at = (range?: string) => get(`/sessions/${SID}/audio`, { ...bearer(KEY), ...(range ? { range } : {}) });
      const full = await at();
      expect([full.status, full.headers.get("content-type"), full.headers.get("accept-ranges"), full.headers.get("content-length")]).toEqual([200, "audio/ogg", "bytes", String(size)]);
      expect(Buffer.from(await full.arrayBuffer()).equals(Buffer.from(whole))).toBe(true);
      for (const [range, start, end] of [["bytes=0-99", 0, 99], ["bytes=4900-", 4900, size - 1], ["bytes=-10", size - 10, size - 1], ["bytes=100-999999", 100, size - 1], [`bytes=${size - 1}-${size - 1}`, size - 1, size - 1]] as const) {
        const r = await at(range);
        expect(r.status, range).toBe(206);
        expect(r.headers.get("content-range"), range).toBe(`bytes ${start}-${end}/${size}`);
        expect(r.headers.get("content-length"), range).toBe(String(end - start + 1));
        expect(r.headers.get("cache-control"), range).toBe("private, no-store");
        expect(Buffer.from(await r.arrayBuffer()).equals(Buffer.from(whole.subarray(start, end + 1))), range).toBe(true);
      }
      for (const range of [`bytes=${size}-`, "bytes=999999-", "bytes=-0"]) {
        const r = await at(range);
        expect(r.status, range).toBe(416);
        expect(r.headers.get("content-range"), range).toBe(`bytes */${size}`);
        expect(((await r.json()) as { code: string }).code, range).toBe("RANGE_NOT_SATISFIABLE");
      }
      for (const range of ["items=0-1", "bytes=5-1", "bytes=0-1,5-9", "bytes=x-"]) {
        const r = await at(range);
        expect([r.status, (await r.arrayBuffer()).byteLength], range).toEqual([200, size]);
      }
    });

    test("rangeResponse: the headers it is given, plus accept-ranges; an empty body is unsatisfiable for any range", async () => {
      const body = enc("0123456789");
      const r = rangeResponse(new Request(GW, { headers: { range: "bytes=2-4" } }), body, { "x-h": "1" });
      expect([r.status, r.headers.get("x-h"), r.headers.get("accept-ranges"), await r.text()]).toEqual([206, "1", "bytes", "234"]);
      const e = rangeResponse(new Request(GW, { headers: { range: "bytes=0-" } }), new Uint8Array(), {});
      expect([e.status, e.headers.get("content-range")]).toEqual([416, "bytes */0"]);
      const w = rangeResponse(new Request(GW), body, {});
      expect([w.status, w.headers.get("content-length"), await w.text()]).toEqual([200, "10", "0123456789"]);
    });

    test("a session without audio: 404 NOT_FOUND on audio", async () => {
      const NONE = "9b2e6c1a-0f3d-4c8e-8a7b-5d6e7f809a1b";
      sessions.set(NONE, { ...summary(NONE, 7, 44), status: "completed", totalChunks: 0, totalFrames: 0 });
      expect(await json(await get(`/sessions/${NONE}/audio`, bearer(KEY)))).toMatchObject({ status: 404, body: { code: "NOT_FOUND" } });
    });

    test("a bad frame index is 400 INVALID_MESSAGE; a frame that is not stored 404 NOT_FOUND", async () => {
      for (const idx of ["x", "-1", "01", "1.5", "4294967296", "99999999999", "%20"]) {
        expect(await json(await get(`/sessions/${SID}/frames/${idx}`, bearer(KEY))), idx).toMatchObject({ status: 400, body: { code: "INVALID_MESSAGE", message: "frame_index must be a non-negative integer" } });
      }
      expect((await json(await get(`/sessions/${SID}/frames/%zz`, bearer(KEY)))).status).toBe(404);
      expect(await json(await get(`/sessions/${SID}/frames/5`, bearer(KEY)))).toMatchObject({ status: 404, body: { code: "NOT_FOUND" } });
      expect((await get(`/sessions/${SID}/frames/4294967295`, bearer(KEY))).status).toBe(404);
      // an unreadable session id is refused before the index is looked at
      expect((await json(await get("/sessions/nope/frames/x", bearer(KEY)))).body.code).toBe("INVALID_SESSION_ID");
      expect(logLines.filter((l) => l.includes('"level":"error"'))).toEqual([]);
    });

    test("the manifest of a session still recording: 409 SESSION_NOT_SEALED; verify compares it with its rows", async () => {
      expect(await json(await get(`/sessions/${OPEN}/manifest`, bearer(KEY)))).toMatchObject({ status: 409, body: { code: "SESSION_NOT_SEALED" } });
      expect(seals.has(OPEN)).toBe(false);
      expect((await json(await send("POST", `/sessions/${OPEN}/verify`, undefined, bearer(KEY)))).body).toMatchObject({ ok: true, sealed: false, chunks: 1, frames: 0 });
      // a changed chunk of the sealed session is reported
      const changed = blobs.get(`${SID}/audio/1`)!;
      changed[0] = changed[0]! ^ 1;
      expect((await json(await send("POST", `/sessions/${SID}/verify`, undefined, bearer(KEY)))).body).toMatchObject({ ok: false, mismatched: [{ kind: "audio", index: 1 }], summary: "changed: audio 1" });
      // GET verify and POST manifest are no routes
      expect((await get(`/sessions/${SID}/verify`, bearer(KEY))).status).toBe(404);
      expect((await send("POST", `/sessions/${SID}/manifest`, undefined, bearer(KEY))).status).toBe(404);
    });

    test("CORS: an allowed origin may read Content-Range, Accept-Ranges, Content-Length and Content-Disposition, and send Range", async () => {
      const origin = { origin: "http://localhost:5173" };
      const pre = await handle(new Request(`${GW}/sessions/${SID}/audio`, { method: "OPTIONS", headers: { ...origin, "access-control-request-headers": "range, authorization" } }));
      expect(pre.status).toBe(204);
      expect(pre.headers.get("access-control-allow-headers")!.split(/,\s*/)).toEqual(expect.arrayContaining(["authorization", "range"]));
      const exposed = (r: Response) => r.headers.get("access-control-expose-headers")!.split(/,\s*/).sort();
      const r = await get(`/sessions/${SID}/audio`, { ...bearer(KEY), ...origin, range: "bytes=0-9" });
      expect([r.status, r.headers.get("access-control-allow-origin")]).toEqual([206, "http://localhost:5173"]);
      expect(exposed(r)).toEqual(["accept-ranges", "content-disposition", "content-length", "content-range"]);
      const past = await get(`/sessions/${SID}/audio`, { ...bearer(KEY), ...origin, range: "bytes=999999-" });
      expect([past.status, exposed(past).includes("content-range")]).toEqual([416, true]);
      const zip = await get("/interview-sessions/7/export", { ...bearer(KEY), ...origin });
      expect(exposed(zip)).toContain("content-disposition");
      await zip.arrayBuffer();
      // another origin: refused, no CORS headers
      const foreign = await get(`/sessions/${SID}/audio`, { ...bearer(KEY), origin: "https://evil.example" });
      expect([foreign.status, foreign.headers.get("access-control-expose-headers")]).toEqual([403, null]);
    });
  });
});
