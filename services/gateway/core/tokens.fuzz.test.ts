/**
 * Property tests of the upload-token verifier (fast-check; a failure prints its seed and the
 * shrunk counterexample): random strings, JWT-shaped strings with random headers, claims and
 * signatures, and damaged real tokens are refused with AppError TOKEN_INVALID (the table's fixed
 * sentence, a known reason), never another error; tokens signed with the right key over random
 * claims are either refused so or yield claims that keep the verifier's promises.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { fuzzRuns } from "../../../proto/wire/arbitraries";
import { SignJWT } from "jose";
import { isCanonicalUuid } from "../../../proto/wire/ids";
import { AppError, ERRORS } from "../../shared/errors";
import { createTokenKeys, MAX_TOKEN_TTL_S, mintUploadToken, TOKEN_AUDIENCE, TOKEN_ISSUER, tokenKid, type TokenInvalidReason, type UploadTokenClaims, verifyUploadToken } from "./tokens";

const SECRET = "fuzz-0123456789abcdef0123456789abcdef";
const keys = createTokenKeys([SECRET]);
const KID = tokenKid(SECRET);
const NOW = Date.UTC(2025, 11, 16, 10, 30, 0);
const NOW_S = NOW / 1000;
const REASONS: readonly TokenInvalidReason[] = ["missing", "malformed", "bad_signature", "alg", "expired", "not_yet_valid", "audience", "issuer", "unknown_kid", "claims"];

/** Verifies; a refusal must be TOKEN_INVALID with the table's sentence and a known reason. */
async function verifyOrRefuse(token: unknown): Promise<UploadTokenClaims | null> {
  try {
    return await verifyUploadToken(keys, token, NOW);
  } catch (e) {
    if (!(e instanceof AppError)) throw new Error(`threw a non-AppError: ${String(e)}`, { cause: e });
    if (e.code !== "TOKEN_INVALID") throw new Error(`threw ${e.code} instead of TOKEN_INVALID`);
    expect(e.message).toBe(ERRORS.TOKEN_INVALID.description);
    expect(REASONS).toContain(e.reason as TokenInvalidReason);
    return null;
  }
}

const b64url = (s: string | Uint8Array) => Buffer.from(s).toString("base64url");

/** What a JWT's header or claims could hold: the real fields with plausible, wrong or random values, and strays. */
const headerArb = fc.record(
  {
    alg: fc.constantFrom("HS256", "HS512", "none", "RS256", "", 1),
    typ: fc.constantFrom("JWT", "jwt", "at+jwt", null),
    kid: fc.oneof(fc.constant(KID), fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 16, maxLength: 16 }), fc.constant(1)),
    crit: fc.constantFrom(["exp"], [], "x"),
    b64: fc.boolean(),
  },
  { requiredKeys: [] },
);
const numClaim = fc.oneof(fc.integer({ min: NOW_S - 2 * MAX_TOKEN_TTL_S, max: NOW_S + 2 * MAX_TOKEN_TTL_S }), fc.constantFrom(NOW_S, 0, -1, 1.5, 1e300), fc.string({ maxLength: 4 }));
const claimsArb = fc.record(
  {
    iss: fc.constantFrom(TOKEN_ISSUER, "other", 1),
    aud: fc.constantFrom(TOKEN_AUDIENCE, [TOKEN_AUDIENCE], ["x", TOKEN_AUDIENCE], "other"),
    iat: numClaim,
    exp: numClaim,
    nbf: numClaim,
    jti: fc.oneof(fc.uuid(), fc.string({ maxLength: 8 })),
    interview_session_id: fc.oneof(fc.nat(), fc.constantFrom(-1, 0.5, "1", null, Number.MAX_SAFE_INTEGER + 1)),
    user_id: fc.oneof(fc.nat(), fc.constantFrom(-1, 0.5, "1", null)),
    session_id: fc.oneof(fc.uuid(), fc.constantFrom(null, "", "0F8FAD5B-D9CB-469F-A165-70867728950E", 1)),
    extra: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: [] },
);

/** Well-formed claims (for NOW), so that damage to a few of them reaches every check. */
const validClaimsArb = fc.record({
  iss: fc.constant(TOKEN_ISSUER),
  aud: fc.constant(TOKEN_AUDIENCE),
  iat: fc.integer({ min: NOW_S - 3600, max: NOW_S }),
  ttl: fc.integer({ min: 1, max: MAX_TOKEN_TTL_S }),
  jti: fc.uuid(),
  interview_session_id: fc.nat(),
  user_id: fc.nat(),
  session_id: fc.option(fc.uuid(), { nil: undefined }),
}).map(({ ttl, session_id, ...c }) => ({ ...c, exp: Math.max(c.iat + ttl, NOW_S + 1), ...(session_id ? { session_id } : {}) }));

/** Valid claims with some of them replaced by random ones, some deleted. */
const damagedClaimsArb = fc.tuple(validClaimsArb, claimsArb, fc.array(fc.constantFrom("iss", "aud", "iat", "exp", "jti", "interview_session_id", "user_id", "session_id"), { maxLength: 2 })).map(([valid, random, drop]) => {
  const c: Record<string, unknown> = { ...valid, ...random };
  for (const k of drop) delete c[k];
  return c;
});

/** The verifier's promises about claims it returns. */
function checkClaims(c: UploadTokenClaims) {
  expect(Number.isSafeInteger(c.interviewSessionId) && c.interviewSessionId >= 0).toBe(true);
  expect(Number.isSafeInteger(c.userId) && c.userId >= 0).toBe(true);
  expect(c.sessionId === null || isCanonicalUuid(c.sessionId)).toBe(true);
  expect(isCanonicalUuid(c.jti)).toBe(true);
  expect(c.exp).toBeGreaterThan(c.iat);
  expect(c.exp - c.iat).toBeLessThanOrEqual(MAX_TOKEN_TTL_S);
  expect(c.exp).toBeGreaterThan(NOW_S - 30); // not expired beyond the clock tolerance
}

describe("verifyUploadToken, fuzzed", () => {
  test("random strings and values are TOKEN_INVALID", async () => {
    const anyToken = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ maxLength: 100, unit: "binary" }), fc.string({ minLength: 4000, maxLength: 4200 }), fc.jsonValue({ maxDepth: 1 }), fc.constantFrom(undefined, null, "", ".", "..", "a.b.c"));
    await fc.assert(
      fc.asyncProperty(anyToken, async (t) => {
        expect(await verifyOrRefuse(t)).toBeNull();
      }),
      { numRuns: fuzzRuns(1000) },
    );
  });

  test("JWT-shaped strings with random headers, claims and signatures are TOKEN_INVALID", async () => {
    const segment = fc.oneof(fc.base64String({ maxLength: 60 }).map((s) => s.replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_")), fc.string({ maxLength: 20 }));
    const shaped = fc.tuple(fc.oneof(headerArb.map((h) => b64url(JSON.stringify(h))), segment), fc.oneof(claimsArb.map((c) => b64url(JSON.stringify(c))), segment), fc.oneof(fc.uint8Array({ maxLength: 40 }).map(b64url), segment));
    await fc.assert(
      fc.asyncProperty(shaped, async ([h, p, s]) => {
        expect(await verifyOrRefuse(`${h}.${p}.${s}`)).toBeNull();
      }),
      { numRuns: fuzzRuns(1000) },
    );
  });

  test("random claims signed with the right key: TOKEN_INVALID, or claims that keep every promise", async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(validClaimsArb, damagedClaimsArb, claimsArb), fc.boolean(), async (claims, rightKid) => {
        const jwt = await new SignJWT(claims as Record<string, unknown>).setProtectedHeader({ alg: "HS256", typ: "JWT", kid: rightKid ? KID : "0000000000000000" }).sign(new TextEncoder().encode(SECRET));
        const c = await verifyOrRefuse(jwt);
        if (!rightKid) expect(c).toBeNull();
        if (c) {
          accepted++;
          checkClaims(c);
        }
      }),
      { numRuns: fuzzRuns(1000) },
    );
    // Not a property, a sanity check that the generator reaches the accepting path at all.
    expect(accepted).toBeGreaterThan(100);
  });

  test("a real token with characters changed, cut or added: TOKEN_INVALID, or the same claims", async () => {
    const minted = await mintUploadToken(keys, { interviewSessionId: 3, userId: 7, sessionId: "0f8fad5b-d9cb-469f-a165-70867728950e" }, NOW);
    const original = await verifyUploadToken(keys, minted.token, NOW);
    const damage = fc.oneof(
      fc.tuple(fc.nat(), fc.constantFrom(..."ABCxyz019-_.=+/ \u00e9")).map(([i, ch]) => (t: string) => {
        const k = i % t.length;
        return t.slice(0, k) + ch + t.slice(k + 1);
      }),
      fc.nat().map((i) => (t: string) => t.slice(0, i % t.length)),
      fc.string({ minLength: 1, maxLength: 8 }).map((s) => (t: string) => t + s),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(damage, { minLength: 1, maxLength: 3 }), async (ds) => {
        const t = ds.reduce((s, d) => d(s), minted.token);
        const c = await verifyOrRefuse(t);
        // base64url's last character may carry unused bits: a change there can decode to the same signature.
        if (c) expect(c).toEqual(original);
      }),
      { numRuns: fuzzRuns(1000) },
    );
  });
});
