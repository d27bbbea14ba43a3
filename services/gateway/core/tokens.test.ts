import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { SignJWT, UnsecuredJWT, generateKeyPair } from "jose";
import { AppError, ERRORS } from "../../shared/errors";
import {
  createTokenKeys,
  DEFAULT_TOKEN_TTL_S,
  MAX_TOKEN_TTL_S,
  mintReviewerToken,
  mintUploadToken,
  tokenKid,
  type TokenKeys,
  verifyAnyToken,
  verifyUploadToken,
} from "./tokens";

const S1 = "s1-0123456789abcdef0123456789abcdef";
const S2 = "s2-fedcba9876543210fedcba9876543210";
const S_OLD = "old-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const NOW = Date.UTC(2025, 11, 16, 10, 30, 0);
const NOW_S = NOW / 1000;
const SID = "0f8fad5b-d9cb-469f-a165-70867728950e";
const JTI = "6ec0bd7f-11c0-43da-975e-2a8ad9ebae0b";
const enc = (s: string) => new TextEncoder().encode(s);

const keys = createTokenKeys([S1]);

async function reason(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe("TOKEN_INVALID");
    // The client-facing message never names the failed check nor echoes the token.
    expect((e as AppError).message).toBe(ERRORS.TOKEN_INVALID.description);
    return (e as AppError).reason ?? "";
  }
  throw new Error("expected TOKEN_INVALID");
}

/** A token built by hand (what a forger or an old minter would produce). */
function forge(opts: {
  secret?: string;
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  omit?: string[];
}): Promise<string> {
  const claims: Record<string, unknown> = {
    iss: "candid",
    aud: "candid-upload",
    iat: NOW_S,
    exp: NOW_S + 3600,
    jti: JTI,
    interview_session_id: 7,
    user_id: 42,
    ...opts.claims,
  };
  for (const k of opts.omit ?? []) delete claims[k];
  const secret = opts.secret ?? S1;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT", kid: tokenKid(secret), ...opts.header } as never)
    .sign(enc(secret));
}

describe("createTokenKeys", () => {
  test("kid is the first 16 hex digits of SHA-256(secret); the first secret signs", () => {
    expect(tokenKid(S1)).toBe(createHash("sha256").update(S1).digest("hex").slice(0, 16));
    const k = createTokenKeys([S2, S1]);
    expect(k.signing.kid).toBe(tokenKid(S2));
    expect([...k.byKid.keys()]).toEqual([tokenKid(S2), tokenKid(S1)]);
  });

  test("refuses short, missing and comma-carrying secrets, without printing them", () => {
    expect(() => createTokenKeys([])).toThrow(/at least one/);
    expect(() => createTokenKeys(["short-secret"])).toThrow(/entry 1 has 12 bytes/);
    try {
      createTokenKeys([S1, "tiny"]);
    } catch (e) {
      expect(String(e)).not.toContain("tiny");
      expect(String(e)).not.toContain(S1);
    }
    expect(() => createTokenKeys([`${S1},x`])).toThrow(/comma/);
  });
});

describe("mint and verify", () => {
  test("a minted token verifies to its claims", async () => {
    const m = await mintUploadToken(keys, { interviewSessionId: 7, userId: 42, sessionId: SID, ttlS: 600 }, NOW);
    expect(m.expiresAt).toBe(NOW + 600_000);
    expect(m.jti).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await verifyUploadToken(keys, m.token, NOW + 1000)).toEqual({
      interviewSessionId: 7,
      userId: 42,
      sessionId: SID,
      jti: m.jti,
      iat: NOW_S,
      exp: NOW_S + 600,
    });
  });

  test("the header is HS256 / JWT / kid, the claims as documented", async () => {
    const { token } = await mintUploadToken(keys, { interviewSessionId: 7, userId: 42 }, NOW);
    const [h, p] = token.split(".").slice(0, 2).map((s) => JSON.parse(Buffer.from(s!, "base64url").toString()));
    expect(h).toEqual({ alg: "HS256", typ: "JWT", kid: tokenKid(S1) });
    expect(Object.keys(p).sort()).toEqual(["aud", "exp", "iat", "interview_session_id", "iss", "jti", "user_id"]);
    expect(p).toMatchObject({ iss: "candid", aud: "candid-upload", interview_session_id: 7, user_id: 42 });
    expect((await verifyUploadToken(keys, token, NOW)).sessionId).toBeNull();
  });

  test("ttl: default 4 h, at most 24 h, a positive integer", async () => {
    const d = await mintUploadToken(keys, { interviewSessionId: 1, userId: 1 }, NOW);
    expect(d.expiresAt).toBe(NOW + DEFAULT_TOKEN_TTL_S * 1000);
    expect(DEFAULT_TOKEN_TTL_S).toBe(14400);
    const max = await mintUploadToken(keys, { interviewSessionId: 1, userId: 1, ttlS: MAX_TOKEN_TTL_S }, NOW);
    expect(max.expiresAt).toBe(NOW + 86_400_000);
    expect(await verifyUploadToken(keys, max.token, NOW + 86_000_000)).toBeTruthy();
    for (const ttlS of [MAX_TOKEN_TTL_S + 1, 0, -5, 1.5, Number.NaN]) {
      const err = await mintUploadToken(keys, { interviewSessionId: 1, userId: 1, ttlS }, NOW).catch((e) => e);
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ code: "INVALID_MESSAGE", details: { field: "ttl_s" } });
    }
  });

  test("mint refuses malformed ids", async () => {
    for (const [req, field] of [
      [{ interviewSessionId: -1, userId: 1 }, "interview_session_id"],
      [{ interviewSessionId: 1, userId: 1.5 }, "user_id"],
      [{ interviewSessionId: 1, userId: 1, sessionId: "not-a-uuid" }, "session_id"],
      [{ interviewSessionId: 1, userId: 1, sessionId: SID.toUpperCase() }, "session_id"],
    ] as const) {
      expect(await mintUploadToken(keys, req, NOW).catch((e) => e)).toMatchObject({ code: "INVALID_MESSAGE", details: { field } });
    }
  });
});

describe("verify refuses", () => {
  test("no token at all", async () => {
    expect(await reason(verifyUploadToken(keys, undefined, NOW))).toBe("missing");
    expect(await reason(verifyUploadToken(keys, null, NOW))).toBe("missing");
    expect(await reason(verifyUploadToken(keys, "", NOW))).toBe("missing");
  });

  test("garbage, non-strings and oversized strings", async () => {
    for (const t of ["abc", "a.b.c", "x.y", 42, {}, "e30.e30.", "a".repeat(5000)]) {
      expect(await reason(verifyUploadToken(keys, t, NOW))).toBe("malformed");
    }
  });

  test("a bad signature: another secret under our kid, or a flipped byte", async () => {
    expect(await reason(verifyUploadToken(keys, await forge({ secret: S2, header: { kid: tokenKid(S1) } }), NOW))).toBe("bad_signature");
    const good = await forge({});
    const [h, p, s] = good.split(".");
    const sig = Buffer.from(s!, "base64url");
    sig[0]! ^= 1;
    expect(await reason(verifyUploadToken(keys, `${h}.${p}.${sig.toString("base64url")}`, NOW))).toBe("bad_signature");
    // The payload changed under an unchanged signature (user_id 42 → 43).
    const p2 = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, "base64url").toString()), user_id: 43 })).toString("base64url");
    expect(await reason(verifyUploadToken(keys, `${h}.${p2}.${s}`, NOW))).toBe("bad_signature");
  });

  test("alg none, RS256 and HS512", async () => {
    const claims = { iss: "candid", aud: "candid-upload", iat: NOW_S, exp: NOW_S + 60, jti: JTI, interview_session_id: 7, user_id: 42 };
    const none = new UnsecuredJWT(claims).encode();
    expect(await reason(verifyUploadToken(keys, none, NOW))).toBe("alg"); // the allow-list is checked before the kid
    // `none` with our kid, and an empty signature: refused by the algorithm allow-list.
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const noneKid = `${b64({ alg: "none", typ: "JWT", kid: tokenKid(S1) })}.${b64(claims)}.`;
    expect(await reason(verifyUploadToken(keys, noneKid, NOW))).toBe("alg");
    const hs512 = await new SignJWT(claims).setProtectedHeader({ alg: "HS512", typ: "JWT", kid: tokenKid(S1) }).sign(enc(S1.repeat(2)));
    expect(await reason(verifyUploadToken(keys, hs512, NOW))).toBe("alg");
    const { privateKey } = await generateKeyPair("RS256");
    const rs256 = await new SignJWT(claims).setProtectedHeader({ alg: "RS256", typ: "JWT", kid: tokenKid(S1) }).sign(privateKey);
    expect(await reason(verifyUploadToken(keys, rs256, NOW))).toBe("alg");
  });

  test("expired, past the 30 s tolerance", async () => {
    const t = await forge({ claims: { iat: NOW_S - 3600, exp: NOW_S - 31 } });
    expect(await reason(verifyUploadToken(keys, t, NOW))).toBe("expired");
    const m = await mintUploadToken(keys, { interviewSessionId: 7, userId: 42, ttlS: 60 }, NOW);
    expect(await verifyUploadToken(keys, m.token, NOW + 89_000)).toBeTruthy(); // within tolerance
    expect(await reason(verifyUploadToken(keys, m.token, NOW + 91_000))).toBe("expired");
  });

  test("not yet valid: nbf or iat in the future beyond the tolerance", async () => {
    expect(await reason(verifyUploadToken(keys, await forge({ claims: { nbf: NOW_S + 120 } }), NOW))).toBe("not_yet_valid");
    expect(await reason(verifyUploadToken(keys, await forge({ claims: { iat: NOW_S + 120, exp: NOW_S + 3600 } }), NOW))).toBe("not_yet_valid");
    expect(await verifyUploadToken(keys, await forge({ claims: { iat: NOW_S + 20 } }), NOW)).toBeTruthy(); // skew tolerated
  });

  test("a wrong audience or issuer", async () => {
    expect(await reason(verifyUploadToken(keys, await forge({ claims: { aud: "candid-admin" } }), NOW))).toBe("audience");
    expect(await reason(verifyUploadToken(keys, await forge({ omit: ["aud"] }), NOW))).toBe("audience");
    expect(await reason(verifyUploadToken(keys, await forge({ claims: { iss: "someone-else" } }), NOW))).toBe("issuer");
    expect(await reason(verifyUploadToken(keys, await forge({ omit: ["iss"] }), NOW))).toBe("issuer");
  });

  test("an unknown or missing kid", async () => {
    expect(await reason(verifyUploadToken(keys, await forge({ secret: S2 }), NOW))).toBe("unknown_kid");
    expect(await reason(verifyUploadToken(keys, await forge({ header: { kid: "0000000000000000" } }), NOW))).toBe("unknown_kid");
    const noKid = await new SignJWT({ iss: "candid", aud: "candid-upload", iat: NOW_S, exp: NOW_S + 60, jti: JTI, interview_session_id: 7, user_id: 42 })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .sign(enc(S1));
    expect(await reason(verifyUploadToken(keys, noKid, NOW))).toBe("unknown_kid");
    expect(await reason(verifyUploadToken(keys, await forge({ header: { kid: 5 } }), NOW))).toBe("unknown_kid");
  });

  test("a wrong typ header", async () => {
    expect(await reason(verifyUploadToken(keys, await forge({ header: { typ: "at+jwt" } }), NOW))).toBe("malformed");
  });

  test("claims of the wrong shape under a valid signature", async () => {
    const cases: Array<Parameters<typeof forge>[0]> = [
      { claims: { user_id: "42" } },
      { claims: { user_id: 4.2 } },
      { claims: { user_id: -1 } },
      { omit: ["user_id"] },
      { omit: ["interview_session_id"] },
      { claims: { interview_session_id: null } },
      { claims: { interview_session_id: 2 ** 53 } },
      { claims: { session_id: "test-123" } },
      { claims: { session_id: SID.toUpperCase() } },
      { claims: { session_id: null } },
      { claims: { jti: "not-a-uuid" } },
      { omit: ["jti"] },
      { omit: ["exp"] },
      { omit: ["iat"] },
      // A lifetime longer than any ttl we mint (an old or foreign minter).
      { claims: { iat: NOW_S - 10, exp: NOW_S + MAX_TOKEN_TTL_S } },
    ];
    for (const c of cases) expect(`${JSON.stringify(c)} → ${await reason(verifyUploadToken(keys, await forge(c), NOW))}`).toBe(`${JSON.stringify(c)} → claims`);
  });
});

describe("rotation", () => {
  test("the new secret signs, the old one still verifies; a rotated-out secret is refused", async () => {
    const before: TokenKeys = createTokenKeys([S_OLD]);
    const during: TokenKeys = createTokenKeys([S1, S_OLD]);
    const after: TokenKeys = createTokenKeys([S1]);
    const old = await mintUploadToken(before, { interviewSessionId: 7, userId: 42 }, NOW);
    const fresh = await mintUploadToken(during, { interviewSessionId: 7, userId: 42 }, NOW);
    const header = (t: string) => JSON.parse(Buffer.from(t.split(".")[0]!, "base64url").toString());
    expect(header(fresh.token).kid).toBe(tokenKid(S1));
    expect(await verifyUploadToken(during, old.token, NOW)).toMatchObject({ userId: 42 });
    expect(await verifyUploadToken(during, fresh.token, NOW)).toMatchObject({ userId: 42 });
    expect(await verifyUploadToken(after, fresh.token, NOW)).toMatchObject({ userId: 42 });
    expect(await reason(verifyUploadToken(after, old.token, NOW))).toBe("unknown_kid");
  });
});

describe("reviewer tokens", () => {
  test("mint → verifyAnyToken: reviewer claims; scoped or all interviews", async () => {
    const scoped = await mintReviewerToken(keys, { interviewSessionId: 42, ttlS: 60 }, 1_000_000);
    expect(await verifyAnyToken(keys, scoped.token, 1_000_000)).toMatchObject({ kind: "reviewer", claims: { interviewSessionId: 42 } });
    const all = await mintReviewerToken(keys, {}, 1_000_000);
    expect(await verifyAnyToken(keys, all.token, 1_000_000)).toMatchObject({ kind: "reviewer", claims: { interviewSessionId: null } });
  });
  test("a reviewer token never passes as an upload token (it cannot open a session)", async () => {
    const t = await mintReviewerToken(keys, { interviewSessionId: 42 }, 1_000_000);
    await expect(verifyUploadToken(keys, t.token, 1_000_000)).rejects.toMatchObject({ code: "TOKEN_INVALID", reason: "audience" });
  });
  test("an upload token verifies through verifyAnyToken as an upload token", async () => {
    const t = await mintUploadToken(keys, { interviewSessionId: 42, userId: 7 }, 1_000_000);
    expect(await verifyAnyToken(keys, t.token, 1_000_000)).toMatchObject({ kind: "upload", claims: { interviewSessionId: 42, userId: 7 } });
  });
  test("expired, bad ttl, bad id", async () => {
    const t = await mintReviewerToken(keys, { ttlS: 10 }, 1_000_000);
    await expect(verifyAnyToken(keys, t.token, 1_000_000 + 60_000)).rejects.toMatchObject({ reason: "expired" });
    await expect(mintReviewerToken(keys, { ttlS: 0 })).rejects.toMatchObject({ code: "INVALID_MESSAGE" });
    await expect(mintReviewerToken(keys, { interviewSessionId: -1 })).rejects.toMatchObject({ code: "INVALID_MESSAGE" });
  });
});
