import { beforeEach, describe, expect, test } from "bun:test";
import { AppError, ERRORS } from "../../shared/errors";
import { createLogger } from "../../shared/log";
import { createApiKeyChecker } from "../core/api-keys";
import type { SessionSummary } from "../core/ports";
import { createTokenKeys, mintUploadToken, verifyAnyToken, verifyUploadToken } from "../core/tokens";
import { createHttpHandler, type HttpDeps } from "./http";

const KEY = "operator-key-0123456789abcdefghijklmnop";
const SECRET = "token-secret-0123456789abcdefghijklmnop";
const SID = "0f8fad5b-d9cb-469f-a165-70867728950e";
const OTHER = "1b4e28ba-2fa1-41d2-883f-0016d3cca427";
const GW = "http://gw";

const keys = createTokenKeys([SECRET]);
let logLines: string[];
let refusals: string[];
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
    events: { refused: (code, reason) => refusals.push(`${code}:${reason}`), minted: () => void minted++ },
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
