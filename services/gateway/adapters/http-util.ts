/**
 * @module gateway/http-util
 * What every HTTP route file of the gateway parses the same way: path segments, ids in paths,
 * JSON object bodies, optional integer fields. Errors are the table's codes.
 */
import { AppError } from "../../shared/errors";

/** An interview session id in a path: a positive decimal integer without leading zeros. */
export const ID_RE = /^[1-9][0-9]{0,15}$/;

/** A path segment, percent-decoded; a malformed escape is `invalid` (never a URIError and a 500). */
export function decodeSegment(segment: string, invalid: () => AppError): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw invalid();
  }
}

/** An interview session id from a path segment; anything else is INTERVIEW_SESSION_NOT_FOUND (like an unknown id). */
export function interviewIdOf(segment: string): number {
  const raw = decodeSegment(segment, () => new AppError("INTERVIEW_SESSION_NOT_FOUND"));
  if (!ID_RE.test(raw) || !Number.isSafeInteger(Number(raw))) throw new AppError("INTERVIEW_SESSION_NOT_FOUND");
  return Number(raw);
}

export async function jsonBody(req: Request): Promise<Record<string, unknown>> {
  const text = await req.text();
  if (!text.trim()) return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AppError("INVALID_JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new AppError("INVALID_JSON");
  return body as Record<string, unknown>;
}

export function optionalInt(body: Record<string, unknown>, field: string): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw new AppError("INVALID_MESSAGE", `${field} must be a non-negative integer`, { field });
  return v;
}
