/**
 * End to end, the attacks of issue 14 against the real stack (gateway, storage on local disk,
 * metadata on PostgreSQL), one table-driven test each. Every attack asserts its documented
 * answer (docs/errors.md, docs/security.md) AND that nothing was stored or changed: the victim
 * session's status, the rows in PostgreSQL and the files in the media folder are the same after.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { createTokenKeys, mintUploadToken } from "../../services/gateway/core/tokens";
import { generateSecret } from "../support/operator-api";
import { type Stack, startStack } from "../support/stack";
import { fakeJpeg, fakeWebm, TestClient } from "../support/ws-client";

let stack: Stack;
let sql: postgres.Sql;
/** Interview A with its candidate 1 (the victim) and candidate 2; interview B with candidate 1. */
let interviewA: number;
let interviewB: number;
let tokenA1: string;
let tokenA2: string;
let tokenB1: string;
/** Candidate 1 of interview A, but bound to another media session. */
let tokenBoundElsewhere: string;
/** The victim's session, open on `victim` with one chunk stored. */
let victimSid: string;
let victim: TestClient;

const T0 = "2025-12-16T10:30:00Z";
const init = (sid: string, token: string | undefined, extra: object = {}) => ({ type: "session_init", session_id: sid, timestamp: T0, ...(token === undefined ? {} : { token }), ...extra });

async function sendAudio(c: TestClient, sid: string, i: number, blob: Uint8Array) {
  const n = c.messages.length;
  c.send({ type: "audio_metadata", session_id: sid, chunk_index: i, start_timestamp: T0, end_timestamp: "2025-12-16T10:30:10Z", duration_ms: 10_000, size: blob.length });
  c.sendBlob(sid, "audio", i, blob);
  return c.next((m) => (m.type === "audio_ack" && m.chunk_index === i) || m.type === "error", 10_000, n);
}

const files = (sid: string) => {
  const dir = join(stack.mediaDir, sid);
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).sort() : [];
};

/** Everything an attack could change: counts of every table, the victim's status and files, and a target session's. */
async function snapshot(target: string) {
  const [counts] = await sql`
    select (select count(*) from interview_sessions)::int as interviews, (select count(*) from media_sessions)::int as sessions,
           (select count(*) from audio_chunks)::int as chunks, (select count(*) from video_frames)::int as frames`;
  return {
    counts,
    victim: await stack.api.status(victimSid),
    victimFiles: files(victimSid),
    target: await stack.api.status(target),
    targetFiles: files(target),
    mediaDirs: readdirSync(stack.mediaDir).sort(),
  };
}

/** Runs `attack`, expects it to hold, and that nothing it could touch changed. */
async function unchanged(target: string, attack: () => Promise<void>) {
  const before = await snapshot(target);
  await attack();
  await Bun.sleep(50);
  expect(await snapshot(target)).toEqual(before);
  // the victim's connection still works
  expect(victim.closed).toBeNull();
}

/** A refused session_init: the error message, then the close with its code. */
async function refusedInit(msg: object, code: string, close: number) {
  const c = await TestClient.connect(stack.wsUrl);
  c.send(msg);
  expect(await c.reply()).toMatchObject({ type: "error", code });
  expect(await c.waitClose()).toEqual({ code: close, reason: code });
  expect(c.messages.filter((m) => m.type === "session_init_ack")).toEqual([]);
}

beforeAll(async () => {
  stack = await startStack({ logLevel: "info" }); // info: the refusals are logged, and must hold no credential
  sql = postgres(stack.db.url, { max: 2, onnotice: () => {} });
  interviewA = await stack.api.createInterview("A");
  interviewB = await stack.api.createInterview("B");
  [tokenA1, tokenA2, tokenB1, tokenBoundElsewhere] = await Promise.all([
    stack.api.mintToken(interviewA, 1),
    stack.api.mintToken(interviewA, 2),
    stack.api.mintToken(interviewB, 1),
    stack.api.mintToken(interviewA, 1, { sessionId: crypto.randomUUID() }),
  ]);
  victimSid = crypto.randomUUID();
  victim = await TestClient.connect(stack.wsUrl);
  victim.send(init(victimSid, tokenA1));
  expect(await victim.reply()).toMatchObject({ type: "session_init_ack" });
  expect(await sendAudio(victim, victimSid, 0, fakeWebm(2000, 1))).toEqual({ type: "audio_ack", chunk_index: 0 });
}, 120_000);

afterAll(async () => {
  victim?.close();
  await sql?.end({ timeout: 5 });
  await stack?.stop();
});

describe("session_init without a valid token: TOKEN_INVALID, close 4403, nothing stored", () => {
  const keysOf = (secret: string) => createTokenKeys([secret]);
  test.each([
    ["no token", async () => undefined],
    ["an empty token", async () => ""],
    ["garbage", async () => "not.a.jwt"],
    ["a token that is not a string", async () => 42 as unknown as string],
    ["a forged token (same claims, another secret)", async () => (await mintUploadToken(keysOf(generateSecret()), { interviewSessionId: interviewA, userId: 1 })).token],
    ["an expired token", async () => (await mintUploadToken(keysOf(stack.tokenSecret), { interviewSessionId: interviewA, userId: 1, ttlS: 3600 }, Date.now() - 2 * 3600_000)).token],
    ["a token with alg none", async () => `${btoa(JSON.stringify({ alg: "none", typ: "JWT" }))}.${btoa(JSON.stringify({ interview_session_id: interviewA, user_id: 1 }))}.`],
  ])("%s", async (_name, make) => {
    const token = await make();
    const fresh = crypto.randomUUID();
    for (const sid of [fresh, victimSid]) {
      await unchanged(fresh, () => refusedInit(init(sid, token), "TOKEN_INVALID", 4403));
    }
    expect(files(fresh)).toEqual([]);
  });
});

describe("a valid token used beyond what it allows: FORBIDDEN, close 4403, nothing stored or changed", () => {
  test.each([
    ["another interview's token, naming interview A", () => init(crypto.randomUUID(), tokenB1, { interview_session_id: interviewA })],
    ["another candidate's token, naming candidate 1", () => init(crypto.randomUUID(), tokenA2, { user_id: 1 })],
    ["another interview's token, on the victim's session", () => init(victimSid, tokenB1)],
    ["another candidate's token, on the victim's session (a takeover)", () => init(victimSid, tokenA2)],
    ["a token bound to another session", () => init(victimSid, tokenBoundElsewhere)],
  ])("%s", async (_name, msg) => {
    const m = msg();
    await unchanged(m.session_id, () => refusedInit(m, "FORBIDDEN", 4403));
    // the victim was not taken over and still stores media
    expect(victim.closed).toBeNull();
  });

  test("the victim's connection keeps working after all of that", async () => {
    expect(await sendAudio(victim, victimSid, 1, fakeWebm(2000, 2))).toEqual({ type: "audio_ack", chunk_index: 1 });
  });
});

describe("completing another's session", () => {
  test("session_complete without an accepted session_init is SESSION_NOT_INITIALIZED (4401); the session stays active", async () => {
    await unchanged(victimSid, async () => {
      const c = await TestClient.connect(stack.wsUrl);
      c.send(init(victimSid, tokenA2)); // refused: FORBIDDEN
      c.send({ type: "session_complete", session_id: victimSid, total_chunks: 1, total_frames: 0 });
      expect(await c.waitClose()).toEqual({ code: 4403, reason: "FORBIDDEN" });
      const d = await TestClient.connect(stack.wsUrl);
      d.send({ type: "session_complete", session_id: victimSid, total_chunks: 1, total_frames: 0 });
      expect(await d.waitClose()).toEqual({ code: 4401, reason: "SESSION_NOT_INITIALIZED" });
      // frames and blobs without an accepted init are refused the same way
      const e = await TestClient.connect(stack.wsUrl);
      e.sendBlob(victimSid, "frame", 9, fakeJpeg(500));
      expect((await e.waitClose()).code).toBe(4401);
    });
    expect((await stack.api.status(victimSid)).body.status).toBe("active");
  });
});

describe("status: a bearer is needed, and a foreign token learns nothing", () => {
  test("without a bearer, or with a bad one: 401 TOKEN_INVALID", async () => {
    for (const bearer of [null, "nope", `${tokenA1}x`]) {
      expect(await stack.api.status(victimSid, bearer)).toMatchObject({ code: 401, body: { code: "TOKEN_INVALID" } });
    }
  });

  test("the owner's token and the api key read it; a foreign token gets exactly the unknown session's 404", async () => {
    expect((await stack.api.status(victimSid, tokenA1)).code).toBe(200);
    expect((await stack.api.status(victimSid)).code).toBe(200);
    const unknown = await stack.api.status(crypto.randomUUID());
    expect(unknown.code).toBe(404);
    for (const t of [tokenA2, tokenB1, tokenBoundElsewhere]) expect(await stack.api.status(victimSid, t)).toEqual(unknown);
  });
});

describe("the operator API needs an api key", () => {
  const attempts = (headers: Record<string, string>) => [
    () => fetch(`${stack.gatewayUrl}/interview-sessions`, { method: "POST", headers, body: "{}" }),
    () => fetch(`${stack.gatewayUrl}/interview-sessions/${interviewA}/upload-tokens`, { method: "POST", headers, body: JSON.stringify({ user_id: 1 }) }),
  ];
  test.each([
    ["no key", (): Record<string, string> => ({})],
    ["a wrong key", () => ({ authorization: `Bearer ${generateSecret()}` })],
    ["an upload token instead of a key", () => ({ authorization: `Bearer ${tokenA1}` })],
  ])("%s: 401 API_KEY_INVALID, nothing created or minted", async (_name, headers) => {
    await unchanged(victimSid, async () => {
      for (const attempt of attempts(headers())) {
        const r = await attempt();
        expect(r.status).toBe(401);
        expect(((await r.json()) as { code: string }).code).toBe("API_KEY_INVALID");
      }
    });
  });

  test("a token for an unknown interview is not minted: 404", async () => {
    const r = await fetch(`${stack.gatewayUrl}/interview-sessions/987654321/upload-tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.apiKey}` },
      body: JSON.stringify({ user_id: 1 }),
    });
    expect(r.status).toBe(404);
    expect(((await r.json()) as { code: string }).code).toBe("INTERVIEW_SESSION_NOT_FOUND");
  });
});

describe("origins (CORS_ALLOWED_ORIGINS empty: none allowed)", () => {
  test("an upgrade from a foreign Origin is refused 403, nothing opened; without an Origin it works", async () => {
    const r = await fetch(stack.wsUrl.replace("ws://", "http://"), { headers: { origin: "https://evil.example" } });
    expect(r.status).toBe(403);
    expect(((await r.json()) as { code: string }).code).toBe("ORIGIN_NOT_ALLOWED");
    await expect(TestClient.connect(stack.wsUrl, { headers: { origin: "https://evil.example" } })).rejects.toThrow();
    const ok = await TestClient.connect(stack.wsUrl);
    ok.close();
  });
});

describe("refusals are counted by code and reason, and no credential reaches the logs", () => {
  test("metrics and logs", async () => {
    const text = await (await fetch(stack.gatewayMetricsUrl)).text();
    expect(text).toMatch(/candid_gateway_auth_refusals_total\{[^}]*code="TOKEN_INVALID"[^}]*reason="expired"/);
    expect(text).toMatch(/candid_gateway_auth_refusals_total\{[^}]*code="FORBIDDEN"[^}]*reason="owner_mismatch"/);
    expect(text).toMatch(/candid_gateway_auth_refusals_total\{[^}]*code="API_KEY_INVALID"/);
    expect(text).toMatch(/candid_gateway_tokens_minted_total\{[^}]*\} [1-9]/);
    const out = stack.gateway.output();
    for (const secret of [stack.apiKey, stack.tokenSecret, tokenA1, tokenA2, tokenB1]) {
      expect(out).not.toContain(secret);
      expect(text).not.toContain(secret);
    }
  });
});
