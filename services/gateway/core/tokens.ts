/**
 * @module tokens
 * Upload tokens: short-lived JWTs (HS256, through `jose`) that let one candidate's browser write
 * into one interview's media sessions, and nothing else.
 *
 *   header  {"alg":"HS256","typ":"JWT","kid":"<16 hex>"}
 *   claims  {"iss":"candid","aud":"candid-upload","iat","exp","jti":"<uuid v4>",
 *            "interview_session_id":<int>,"user_id":<int>,"session_id"?:"<uuid>"}
 *
 * Keys come from CANDID_TOKEN_SECRETS, a list: the FIRST secret signs, every secret verifies. A
 * secret's kid is the first 16 hex digits of SHA-256(secret), so secrets need no names and rotate
 * by list order (docs/security.md: prepend the new one, wait one max ttl, drop the old one).
 *
 * Verification comes before anything else the gateway does with a token: size, kid (unknown
 * refused), signature, algorithm (HS256 only, so `none`, RS256 or HS512 are refused), typ, iss,
 * aud, exp / nbf / iat with a 30 s clock tolerance, then the claims' shapes. Every refusal is an
 * AppError TOKEN_INVALID whose `reason` says which check failed (for logs and metrics; the
 * client sees the table's one fixed sentence). Pure apart from the clock, which callers may inject.
 */
import { createHash, randomUUID } from "node:crypto";
import { jwtVerify, SignJWT, type JWTHeaderParameters, type JWTPayload } from "jose";
import { isCanonicalUuid } from "../../../proto/wire/ids";
import { MAX_TOKEN_CHARS } from "../../../proto/wire/messages";
import { AppError } from "../../shared/errors";
import { parseSecretList } from "./api-keys";

export const TOKEN_ISSUER = "candid";
export const TOKEN_AUDIENCE = "candid-upload";
export const TOKEN_ALGORITHM = "HS256";
/** Default lifetime of an upload token, in seconds (4 h). */
export const DEFAULT_TOKEN_TTL_S = 4 * 3600;
/** Longest lifetime an upload token may have, in seconds (24 h). */
export const MAX_TOKEN_TTL_S = 24 * 3600;
/** Clock skew tolerated between the minting and the verifying host, in seconds. */
export const TOKEN_CLOCK_TOLERANCE_S = 30;

/** Why an upload token was refused (TOKEN_INVALID): AppError.reason, for logs and metrics only. */
export type TokenInvalidReason =
  | "missing"
  | "malformed"
  | "bad_signature"
  | "alg"
  | "expired"
  | "not_yet_valid"
  | "audience"
  | "issuer"
  | "unknown_kid"
  | "claims";

/** The verified content of an upload token. */
export interface UploadTokenClaims {
  interviewSessionId: number;
  userId: number;
  /** The one media session this token allows, or null for any session of the interview. */
  sessionId: string | null;
  /** Token id (uuid v4): the key of the per-token session limit. */
  jti: string;
  /** Issued at / expires at, in seconds since the epoch. */
  iat: number;
  exp: number;
}

interface TokenKey {
  kid: string;
  key: Uint8Array;
}

/** The signing key (the first secret) and every verifying key by kid. Opaque: holds the secrets. */
export interface TokenKeys {
  readonly signing: TokenKey;
  readonly byKid: ReadonlyMap<string, TokenKey>;
}

/** kid of a secret: the first 16 hex digits of SHA-256 over its UTF-8 bytes. */
export function tokenKid(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex").slice(0, 16);
}

/**
 * Builds the key set from CANDID_TOKEN_SECRETS' entries (in order: the first signs). Throws an
 * Error listing every problem (fewer than 32 bytes, none at all, the same secret twice); the
 * message never contains a secret.
 */
export function createTokenKeys(secrets: readonly string[]): TokenKeys {
  const { values, errors } = parseSecretList("CANDID_TOKEN_SECRETS", secrets.join(","));
  if (secrets.some((s) => s.includes(","))) errors.push("CANDID_TOKEN_SECRETS: a secret must not contain a comma");
  if (errors.length) throw new Error(errors.join("; "));
  const keys = values.map((s) => ({ kid: tokenKid(s), key: new TextEncoder().encode(s) }));
  const byKid = new Map<string, TokenKey>();
  for (const k of keys) byKid.set(k.kid, k);
  return { signing: keys[0]!, byKid };
}

export interface MintRequest {
  interviewSessionId: number;
  userId: number;
  /** Binds the token to one media session (a canonical uuid). */
  sessionId?: string | null;
  /** Lifetime in seconds: an integer in [1, MAX_TOKEN_TTL_S]; default DEFAULT_TOKEN_TTL_S. */
  ttlS?: number;
}

export interface MintedToken {
  token: string;
  /** Expiry in ms since the epoch (whole seconds, like the `exp` claim). */
  expiresAt: number;
  jti: string;
}

function isId(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

/** An argument an operator can fix: INVALID_MESSAGE naming the field as the HTTP API body does. */
function mintError(field: string, message: string): AppError {
  return new AppError("INVALID_MESSAGE", message, { field });
}

/**
 * Signs a new upload token with the first secret. `now` is ms since the epoch. Throws AppError
 * INVALID_MESSAGE (field ttl_s / user_id / session_id / interview_session_id) for a bad argument.
 */
export async function mintUploadToken(keys: TokenKeys, req: MintRequest, now: number = Date.now()): Promise<MintedToken> {
  const ttlS = ttlOf(req.ttlS);
  if (!isId(req.interviewSessionId)) throw mintError("interview_session_id", "interview_session_id must be a non-negative integer");
  if (!isId(req.userId)) throw mintError("user_id", "user_id must be a non-negative integer");
  const sessionId = req.sessionId ?? null;
  if (sessionId !== null && !isCanonicalUuid(sessionId)) throw mintError("session_id", "session_id must be a canonical lowercase UUID");
  const claims: JWTPayload = { interview_session_id: req.interviewSessionId, user_id: req.userId };
  if (sessionId !== null) claims.session_id = sessionId;
  return sign(keys, claims, TOKEN_AUDIENCE, ttlS, now);
}

/** The lifetime asked for, or the default; INVALID_MESSAGE (field ttl_s) outside [1, MAX_TOKEN_TTL_S]. */
function ttlOf(ttlS: number | undefined): number {
  const t = ttlS ?? DEFAULT_TOKEN_TTL_S;
  if (!Number.isSafeInteger(t) || t < 1 || t > MAX_TOKEN_TTL_S) throw mintError("ttl_s", `ttl_s must be an integer in [1, ${MAX_TOKEN_TTL_S}]`);
  return t;
}

/** Signs `claims` for `audience` with the first secret: kid, iss, iat, exp and a fresh jti. */
async function sign(keys: TokenKeys, claims: JWTPayload, audience: string, ttlS: number, now: number): Promise<MintedToken> {
  const iat = Math.floor(now / 1000);
  const exp = iat + ttlS;
  const jti = randomUUID();
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, typ: "JWT", kid: keys.signing.kid })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(audience)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(keys.signing.key);
  return { token, expiresAt: exp * 1000, jti };
}

/** Marks a kid problem found while resolving the key, before jose looks at the signature. */
class KidProblem extends Error {}

function invalid(reason: TokenInvalidReason, cause?: unknown): AppError {
  return new AppError("TOKEN_INVALID", undefined, {}, cause === undefined ? { reason } : { reason, cause });
}

/** jose's error codes (and the claim it names) → our reason. */
function reasonOf(err: unknown): TokenInvalidReason {
  const e = err as { code?: unknown; claim?: unknown; reason?: unknown };
  switch (e?.code) {
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return "bad_signature";
    case "ERR_JOSE_ALG_NOT_ALLOWED":
    case "ERR_JOSE_NOT_SUPPORTED":
      return "alg";
    case "ERR_JWT_EXPIRED":
      return "expired";
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      // reason "check_failed": present but in the future; "missing" / "invalid" are shape problems.
      if ((e.claim === "nbf" || e.claim === "iat") && e.reason === "check_failed") return "not_yet_valid";
      if (e.claim === "aud") return "audience";
      if (e.claim === "iss") return "issuer";
      if (e.claim === "typ") return "malformed";
      return "claims";
    default:
      return "malformed";
  }
}

/**
 * Verifies an upload token and returns its claims, or throws AppError TOKEN_INVALID with the
 * failed check as `reason`. `now` is ms since the epoch. A reviewer token is refused here
 * (reason "audience"): it never opens a session.
 */
export async function verifyUploadToken(keys: TokenKeys, token: unknown, now: number = Date.now()): Promise<UploadTokenClaims> {
  return claimsOf(await verifiedPayload(keys, token, [TOKEN_AUDIENCE], now));
}

/**
 * Reviewer tokens (issue 12): the same keys and checks as upload tokens, another audience, and
 * their own claims: {"aud":"candid-review","role":"reviewer","interview_session_id"?:<int>}
 * (absent: every interview). They read an interview's media, manifest and export; they never
 * write and never open a session.
 */
export const REVIEWER_AUDIENCE = "candid-review";
export const REVIEWER_ROLE = "reviewer";

export interface ReviewerClaims {
  /** The one interview this token reads, or null for every interview. */
  interviewSessionId: number | null;
  jti: string;
  iat: number;
  exp: number;
}

/** Signs a reviewer token with the first secret; INVALID_MESSAGE for a bad ttl_s or id. */
export async function mintReviewerToken(keys: TokenKeys, req: { interviewSessionId?: number | null; ttlS?: number }, now: number = Date.now()): Promise<MintedToken> {
  const ttlS = ttlOf(req.ttlS);
  const interview = req.interviewSessionId ?? null;
  if (interview !== null && !isId(interview)) throw mintError("interview_session_id", "interview_session_id must be a non-negative integer");
  const claims: JWTPayload = { role: REVIEWER_ROLE };
  if (interview !== null) claims.interview_session_id = interview;
  return sign(keys, claims, REVIEWER_AUDIENCE, ttlS, now);
}

/** A verified bearer token of either kind. */
export type VerifiedToken = { kind: "upload"; claims: UploadTokenClaims } | { kind: "reviewer"; claims: ReviewerClaims };

/** Verifies an upload or a reviewer token (the HTTP read routes take both); TOKEN_INVALID otherwise. */
export async function verifyAnyToken(keys: TokenKeys, token: unknown, now: number = Date.now()): Promise<VerifiedToken> {
  const p = await verifiedPayload(keys, token, [TOKEN_AUDIENCE, REVIEWER_AUDIENCE], now);
  const aud = Array.isArray(p.aud) ? p.aud : [p.aud];
  if (aud.length !== 1) throw invalid("audience");
  return aud[0] === REVIEWER_AUDIENCE ? { kind: "reviewer", claims: reviewerClaimsOf(p) } : { kind: "upload", claims: claimsOf(p) };
}

function reviewerClaimsOf(p: JWTPayload): ReviewerClaims {
  const interview = p.interview_session_id === undefined ? null : p.interview_session_id;
  const ok =
    p.role === REVIEWER_ROLE &&
    (interview === null ? !("interview_session_id" in p) : isId(interview)) &&
    !("user_id" in p) &&
    !("session_id" in p) &&
    lifetimeOk(p);
  if (!ok) throw invalid("claims");
  return { interviewSessionId: interview as number | null, jti: p.jti as string, iat: p.iat as number, exp: p.exp as number };
}

/** jti, iat and exp of either kind of token: a uuid, and a lifetime of at most MAX_TOKEN_TTL_S. */
function lifetimeOk(p: JWTPayload): boolean {
  return isCanonicalUuid(p.jti) && typeof p.iat === "number" && typeof p.exp === "number" && p.exp > p.iat && p.exp - p.iat <= MAX_TOKEN_TTL_S;
}

async function verifiedPayload(keys: TokenKeys, token: unknown, audience: string[], now: number): Promise<JWTPayload> {
  if (token === undefined || token === null || token === "") throw invalid("missing");
  if (typeof token !== "string" || token.length > MAX_TOKEN_CHARS) throw invalid("malformed");
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(
      token,
      (header: JWTHeaderParameters) => {
        const k = typeof header.kid === "string" ? keys.byKid.get(header.kid) : undefined;
        if (!k) throw new KidProblem();
        return k.key;
      },
      {
        algorithms: [TOKEN_ALGORITHM],
        typ: "JWT",
        issuer: TOKEN_ISSUER,
        audience,
        clockTolerance: TOKEN_CLOCK_TOLERANCE_S,
        // Also refuses an iat in the future (beyond the tolerance) and a token older than any ttl.
        maxTokenAge: MAX_TOKEN_TTL_S,
        requiredClaims: ["iat", "exp", "jti"],
        currentDate: new Date(now),
      },
    ));
  } catch (err) {
    if (err instanceof KidProblem) throw invalid("unknown_kid");
    throw invalid(reasonOf(err), err);
  }
  return payload;
}

/** The claims' shapes, checked after the signature: a valid signature over odd claims is still refused. */
function claimsOf(p: JWTPayload): UploadTokenClaims {
  const sessionId = p.session_id === undefined ? null : p.session_id;
  const ok =
    isId(p.interview_session_id) &&
    isId(p.user_id) &&
    !("role" in p) &&
    (sessionId === null ? !("session_id" in p) : isCanonicalUuid(sessionId)) &&
    lifetimeOk(p);
  if (!ok) throw invalid("claims");
  return {
    interviewSessionId: p.interview_session_id as number,
    userId: p.user_id as number,
    sessionId: sessionId as string | null,
    jti: p.jti as string,
    iat: p.iat as number,
    exp: p.exp as number,
  };
}
