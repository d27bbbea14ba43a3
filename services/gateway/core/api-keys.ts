/**
 * @module api-keys
 * Operator API keys (CANDID_API_KEYS) and the secret lists they share a format with
 * (CANDID_TOKEN_SECRETS): a comma-separated list, each entry trimmed, each at least 32 bytes.
 * A list, so a key rotates without downtime: add the new one, move callers over, drop the old one.
 *
 * The check hashes both sides with SHA-256 and compares the digests with crypto.timingSafeEqual,
 * against every configured key without stopping at the first match: the time taken does not
 * depend on how many leading bytes of a guess are right, nor on which key matched. Keys never
 * appear in an error, a log line or a metric; problems name the entry by its position.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { AppError } from "../../shared/errors";

/** Why an operator call was refused (API_KEY_INVALID): AppError.reason, for logs and metrics only. */
export type ApiKeyInvalidReason = "missing" | "malformed" | "wrong";

function keyInvalid(reason: ApiKeyInvalidReason): AppError {
  return new AppError("API_KEY_INVALID", undefined, {}, { reason });
}

/** The shortest secret accepted, in bytes (UTF-8): 256 bits. */
export const MIN_SECRET_BYTES = 32;

/** Visible ASCII: what an HTTP header carries unchanged. */
const VISIBLE_ASCII_RE = /^[\x21-\x7e]+$/;

export interface ParsedSecrets {
  /** The entries, trimmed, in order, without duplicates. */
  values: string[];
  /** One sentence per problem (empty when the list is usable); never contains a secret. */
  errors: string[];
}

/**
 * Parses a comma-separated secret list. Empty entries (a trailing comma) are skipped; an entry
 * shorter than MIN_SECRET_BYTES, or no entry at all, is an error. A repeated entry is dropped.
 */
export function parseSecretList(envName: string, raw: string | undefined | null): ParsedSecrets {
  const values: string[] = [];
  const errors: string[] = [];
  const entries = (raw ?? "").split(",").map((s) => s.trim());
  entries.forEach((s, i) => {
    if (s === "") return;
    const bytes = Buffer.byteLength(s, "utf8");
    if (bytes < MIN_SECRET_BYTES) errors.push(`${envName}: entry ${i + 1} has ${bytes} bytes; each needs at least ${MIN_SECRET_BYTES}`);
    else if (!values.includes(s)) values.push(s);
  });
  if (values.length === 0 && errors.length === 0) errors.push(`${envName} must hold at least one value of ${MIN_SECRET_BYTES}+ bytes`);
  return { values, errors };
}

/** CANDID_API_KEYS → keys, with every problem listed. A key must be visible ASCII (it travels in a header). */
export function parseApiKeys(raw: string | undefined | null): ParsedSecrets {
  const parsed = parseSecretList("CANDID_API_KEYS", raw);
  (raw ?? "").split(",").forEach((s, i) => {
    const t = s.trim();
    if (t !== "" && !VISIBLE_ASCII_RE.test(t)) parsed.errors.push(`CANDID_API_KEYS: entry ${i + 1} must be visible ASCII without spaces (it travels in an Authorization header)`);
  });
  if (parsed.errors.length) parsed.values = parsed.values.filter((v) => VISIBLE_ASCII_RE.test(v));
  return parsed;
}

/** Longest Authorization value looked at; a longer one is refused unhashed. */
const MAX_AUTHORIZATION_CHARS = 8192;
const BEARER_RE = /^Bearer +([\x21-\x7e]+) *$/i;

/**
 * The credential of an `Authorization: Bearer <credential>` header value (scheme case-insensitive,
 * the credential visible ASCII), or null when the header is absent or not a bearer.
 */
export function bearerCredential(header: string | null | undefined): string | null {
  if (!header || header.length > MAX_AUTHORIZATION_CHARS) return null;
  return BEARER_RE.exec(header)?.[1] ?? null;
}

/**
 * The id of an api key in audit records (an erasure's requested_by_key_id): the first 16 hex
 * digits of SHA-256 over its UTF-8 bytes, as a token secret's kid (tokens.ts). It tells the keys
 * of CANDID_API_KEYS apart without revealing them (a key has 256 bits; 64 of its hash say nothing
 * usable about it). Compute it only for a credential that `matches`.
 */
export function apiKeyId(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex").slice(0, 16);
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

export interface ApiKeyChecker {
  /** True when `credential` is one of the keys (constant time in the credential's content). */
  matches(credential: string): boolean;
  /** Checks an Authorization header value; throws AppError API_KEY_INVALID (missing / malformed / wrong). */
  check(authorization: string | null | undefined): void;
}

/** Builds the checker over the configured keys (keeps only their SHA-256 digests). */
export function createApiKeyChecker(keys: readonly string[]): ApiKeyChecker {
  if (keys.length === 0) throw new Error("createApiKeyChecker needs at least one key");
  const digests = keys.map(digest);
  const matches = (credential: string): boolean => {
    const d = digest(credential);
    let ok = false;
    // No early exit: every key is compared, whatever matched before.
    for (const k of digests) ok = timingSafeEqual(d, k) || ok;
    return ok;
  };
  return {
    matches,
    check(authorization) {
      if (authorization === null || authorization === undefined || authorization === "") throw keyInvalid("missing");
      const credential = bearerCredential(authorization);
      if (credential === null) throw keyInvalid("malformed");
      if (!matches(credential)) throw keyInvalid("wrong");
    },
  };
}
