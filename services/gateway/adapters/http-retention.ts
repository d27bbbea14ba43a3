/**
 * @module gateway/http-retention
 * The retention and erasure routes of the gateway's HTTP API (http.ts routes them here), api key
 * only (docs/retention.md):
 *   DELETE /interview-sessions/{id}               -> 202 {"erasure_id","state"}; 409 LEGAL_HOLD; 404 unknown
 *   PUT    /interview-sessions/{id}/legal-hold    {"hold": bool} -> 200 {"interview_session_id","legal_hold"}
 *   PUT    /interview-sessions/{id}/retention     {"retention_days": 1..3650 | null} -> 200 {"interview_session_id","retention_days"}
 * and the `retention_days` field of POST /interview-sessions (`retentionDaysField`).
 *
 * DELETE is idempotent: repeating it answers the erasure requested first (its state by then:
 * pending, running or done). The requester is recorded by its api key's id (api-keys.ts
 * apiKeyId), never the key. From the request on, the interview and its media sessions answer 404
 * on every route (metadata says "not found": GetInterviewSession, GetSessionStatus).
 */
import { AppError } from "../../shared/errors";
import { type ApiKeyChecker, apiKeyId, bearerCredential } from "../core/api-keys";
import type { InterviewRetention } from "../core/ports";

export interface RetentionHttpDeps {
  retention: InterviewRetention;
  apiKeys: ApiKeyChecker;
  /** Headers of every answer (CORS for an allowed Origin). */
  headers(req: Request): Record<string, string>;
}

export const INTERVIEW_RE = /^\/interview-sessions\/([^/]+)$/;
export const LEGAL_HOLD_RE = /^\/interview-sessions\/([^/]+)\/legal-hold$/;
export const RETENTION_RE = /^\/interview-sessions\/([^/]+)\/retention$/;
/** An interview session id in a path: a positive decimal integer without leading zeros. */
const ID_RE = /^[1-9][0-9]{0,15}$/;
export const MIN_RETENTION_DAYS = 1;
export const MAX_RETENTION_DAYS = 3650;

/** The route's fixed name for logs and metrics, or null when it is not one of these. */
export function retentionRouteName(pathname: string): string | null {
  if (INTERVIEW_RE.test(pathname)) return "interview_session";
  if (LEGAL_HOLD_RE.test(pathname)) return "legal_hold";
  if (RETENTION_RE.test(pathname)) return "retention";
  return null;
}

function interviewIdOf(segment: string): number {
  let raw: string;
  try {
    raw = decodeURIComponent(segment);
  } catch {
    throw new AppError("INTERVIEW_SESSION_NOT_FOUND");
  }
  if (!ID_RE.test(raw) || !Number.isSafeInteger(Number(raw))) throw new AppError("INTERVIEW_SESSION_NOT_FOUND");
  return Number(raw);
}

async function jsonObject(req: Request): Promise<Record<string, unknown>> {
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

/**
 * `retention_days` of a request body: undefined when absent, null when null, else an integer in
 * 1..3650 (INVALID_MESSAGE otherwise).
 */
export function retentionDaysField(body: Record<string, unknown>): number | null | undefined {
  const v = body.retention_days;
  if (v === undefined || v === null) return v;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < MIN_RETENTION_DAYS || v > MAX_RETENTION_DAYS) {
    throw new AppError("INVALID_MESSAGE", `retention_days must be an integer from ${MIN_RETENTION_DAYS} to ${MAX_RETENTION_DAYS}, or null`, { field: "retention_days" });
  }
  return v;
}

const answer = (deps: RetentionHttpDeps, req: Request, status: number, body: unknown) =>
  Response.json(body, { status, headers: { ...deps.headers(req), "cache-control": "no-store" } });

/** DELETE /interview-sessions/{id}. */
export async function deleteInterviewSession(deps: RetentionHttpDeps, req: Request, segment: string): Promise<Response> {
  const header = req.headers.get("authorization");
  deps.apiKeys.check(header);
  const id = interviewIdOf(segment);
  const erasure = await deps.retention.requestErasure(id, apiKeyId(bearerCredential(header)!));
  return answer(deps, req, 202, { erasure_id: erasure.erasureId, state: erasure.state });
}

/** PUT /interview-sessions/{id}/legal-hold. */
export async function putLegalHold(deps: RetentionHttpDeps, req: Request, segment: string): Promise<Response> {
  deps.apiKeys.check(req.headers.get("authorization"));
  const id = interviewIdOf(segment);
  const body = await jsonObject(req);
  if (typeof body.hold !== "boolean") throw new AppError("INVALID_MESSAGE", "hold must be true or false", { field: "hold" });
  const hold = await deps.retention.setLegalHold(id, body.hold);
  return answer(deps, req, 200, { interview_session_id: id, legal_hold: hold });
}

/** PUT /interview-sessions/{id}/retention. */
export async function putRetention(deps: RetentionHttpDeps, req: Request, segment: string): Promise<Response> {
  deps.apiKeys.check(req.headers.get("authorization"));
  const id = interviewIdOf(segment);
  const body = await jsonObject(req);
  const days = retentionDaysField(body);
  if (days === undefined) throw new AppError("INVALID_MESSAGE", "retention_days is required (null clears it)", { field: "retention_days" });
  const stored = await deps.retention.setRetention(id, days);
  return answer(deps, req, 200, { interview_session_id: id, retention_days: stored });
}
