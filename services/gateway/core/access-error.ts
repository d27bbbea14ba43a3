/**
 * @module access-error
 * The refusals of the access-control cores (tokens, api keys, authorization), shaped like an
 * AppError (`code`, `message`, `details`) plus a `reason`: a short, fixed label for logs and metric
 * labels (never a token, a key or a claim value).
 *
 * The codes are the ones issue 14 adds to the error table (services/shared/errors.ts: TOKEN_INVALID
 * close 4403 / 401, FORBIDDEN close 4403 / 403, API_KEY_INVALID 401). The adapters turn an
 * AccessError into `new AppError(err.code, err.message)` at the boundary; the client never sees the
 * reason, so a forger learns nothing about which check failed.
 */

export type AccessErrorCode = "TOKEN_INVALID" | "FORBIDDEN" | "API_KEY_INVALID";

/** Why an upload token was refused (TOKEN_INVALID). */
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

/** Why a valid token does not allow what it was used for (FORBIDDEN). */
export type ForbiddenReason = "interview_mismatch" | "user_mismatch" | "session_mismatch" | "owner_mismatch";

/** Why an operator call was refused (API_KEY_INVALID). */
export type ApiKeyInvalidReason = "missing" | "malformed" | "wrong";

export type AccessErrorReason = TokenInvalidReason | ForbiddenReason | ApiKeyInvalidReason;

/** What a client is told: the same sentence whatever the reason. */
const MESSAGES: Record<AccessErrorCode, string> = {
  TOKEN_INVALID: "the upload token is missing or not valid",
  FORBIDDEN: "the upload token does not allow this",
  API_KEY_INVALID: "an operator API key is required",
};

export class AccessError extends Error {
  override readonly name = "AccessError";
  constructor(
    readonly code: AccessErrorCode,
    /** For logs and metric labels only; never sent to a client. */
    readonly reason: AccessErrorReason,
    /** Safe for the client: defaults to a fixed sentence per code. Never a token, key or claim. */
    message?: string,
    /** AppError-compatible extra fields for the client (e.g. { field: "user_id" }). Never secrets. */
    readonly details: Record<string, string | number> = {},
    options?: ErrorOptions,
  ) {
    super(message ?? MESSAGES[code], options);
  }
}
