/**
 * @module gateway/http
 * The gateway's public HTTP routes (the WebSocket upgrade lives in ws-server.ts; /metrics is on
 * the ops port, services/shared/metrics.ts serveOpsHttp):
 *   POST /interview-sessions                      api key; {"title"?} -> 201 {"interview_session_id"}
 *   POST /interview-sessions/{id}/upload-tokens   api key; {"user_id", "session_id"?, "ttl_s"?}
 *        -> 201 {"token","expires_at","interview_session_id","user_id","session_id"?}
 *   GET  /sessions/{session_id}/status            bearer: an api key, or an upload token allowing it
 *   GET  /sessions/{session_id}/analysis          the same bearers; ?chunks_after=&frames_after=&limit=
 *        -> the session's analysis on one timeline (core/analysis-view.ts), paged
 *   DELETE /interview-sessions/{id}, PUT …/legal-hold, PUT …/retention   api key; http-retention.ts
 *   GET  /healthz  the process runs;  GET /readyz  started (both upstreams answered once) and not draining
 * Errors use the same JSON body as the WebSocket: {"type":"error","code","message"}.
 *
 * Credentials travel as `Authorization: Bearer <api key | upload token>`. They are compared or
 * verified and dropped: no log line, error message or metric label ever holds one (refusals are
 * counted by code and a fixed reason). A status read by a token that does not allow the session
 * answers exactly what an unknown session id answers (404 SESSION_NOT_FOUND), so a token holder
 * cannot probe which sessions exist.
 *
 * Origins: a request carrying an Origin outside CORS_ALLOWED_ORIGINS is refused (403
 * ORIGIN_NOT_ALLOWED) and gets no CORS headers; an allowed one gets them, with Authorization
 * among the allowed request headers. A request without an Origin (a server, curl) is not affected.
 */
import { isCanonicalUuid } from "../../../proto/wire";
import { AppError, toAppError, toHttpError } from "../../shared/errors";
import type { Logger } from "../../shared/log";
import { type ApiKeyChecker, bearerCredential } from "../core/api-keys";
import { authorizeStatusRead, type StatusReader } from "../core/authorize";
import { type AnalysisPage, renderAnalysis } from "../core/analysis-view";
import type { InterviewRetention, SessionSummary } from "../core/ports";
import { deleteInterviewSession, INTERVIEW_RE, LEGAL_HOLD_RE, putLegalHold, putRetention, RETENTION_RE, retentionDaysField, retentionRouteName } from "./http-retention";
import type { MintedToken, MintRequest, VerifiedToken } from "../core/tokens";
import { type ReviewRoutes, reviewRouteName } from "./http-review";
import type { AccessEvents } from "./metrics";

export interface HttpDeps {
  /** The session's state and owner; AppError SESSION_NOT_FOUND when there is none. */
  status(sessionId: string): Promise<SessionSummary>;
  /** One page of the session's analysis rows (metadata AnalysisService.GetSessionAnalysis). */
  sessionAnalysis(sessionId: string, chunksAfter: number, framesAfter: number, limit: number): Promise<AnalysisPage>;
  /** `retentionDays`: the interview's own retention (null: the deployment's). */
  createInterviewSession(title: string, retentionDays: number | null): Promise<number>;
  /** Legal hold, retention and erasure (http-retention.ts). */
  retention: InterviewRetention;
  /** Resolves when the interview session exists; AppError INTERVIEW_SESSION_NOT_FOUND otherwise. */
  getInterviewSession(interviewSessionId: number): Promise<void>;
  apiKeys: ApiKeyChecker;
  /** Verifies an upload or a reviewer token; throws AppError TOKEN_INVALID (with a reason) for a bad one. */
  verifyToken(token: string): Promise<VerifiedToken>;
  /** The review routes (http-review.ts); without them those paths answer 404 NOT_FOUND. */
  review?: ReviewRoutes;
  mintToken(req: MintRequest): Promise<MintedToken>;
  /** Lifetime when the request names none, and the most it may ask for, in seconds. */
  tokenDefaultTtlS: number;
  tokenMaxTtlS: number;
  ready(): Promise<boolean>;
  corsAllowedOrigins: readonly string[];
  events: AccessEvents;
  log: Logger;
}

const STATUS_RE = /^\/sessions\/([^/]+)\/status$/;
const ANALYSIS_RE = /^\/sessions\/([^/]+)\/analysis$/;
/** Rows per kind on one analysis page: the default, and the most a request may ask for. */
export const ANALYSIS_PAGE_DEFAULT = 100;
export const ANALYSIS_PAGE_MAX = 500;
const TOKENS_RE = /^\/interview-sessions\/([^/]+)\/upload-tokens$/;
/** An interview session id in a path: a positive decimal integer without leading zeros. */
export const ID_RE = /^[1-9][0-9]{0,15}$/;
const MAX_TITLE = 200;
const ACCESS_CODES: ReadonlySet<string> = new Set(["TOKEN_INVALID", "FORBIDDEN", "API_KEY_INVALID", "ORIGIN_NOT_ALLOWED"]);

const iso = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : null);
/** Whole seconds, as the token's `exp` claim: "2025-12-16T12:30:00Z". */
const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** A path segment, percent-decoded; a malformed escape is `invalid` (never a URIError and a 500). */
export function decodeSegment(segment: string, invalid: () => AppError): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw invalid();
  }
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

export function createHttpHandler(deps: HttpDeps): (req: Request) => Promise<Response> {
  const anyOrigin = deps.corsAllowedOrigins.includes("*");
  const originAllowed = (origin: string) => anyOrigin || deps.corsAllowedOrigins.includes(origin);

  const cors = (req: Request): Record<string, string> => {
    const origin = req.headers.get("origin");
    if (!origin || !originAllowed(origin)) return {};
    return {
      "access-control-allow-origin": anyOrigin ? "*" : origin,
      "access-control-allow-methods": "GET, POST, PUT, DELETE, OPTIONS",
      "access-control-allow-headers": "authorization, content-type, range",
      "access-control-expose-headers": "content-range, accept-ranges, content-length, content-disposition",
      "access-control-max-age": "600",
      vary: "origin",
    };
  };

  const errorResponse = (req: Request, err: unknown): Response => {
    const e = toAppError(err);
    const route = routeName(new URL(req.url).pathname);
    if (e.code === "INTERNAL") deps.log.error("internal error", { route, err: e.cause ?? err });
    if (ACCESS_CODES.has(e.code)) deps.events.refused(e.code, e.reason, route);
    const { status, body } = toHttpError(e);
    return Response.json(body, { status, headers: { ...cors(req), "cache-control": "no-store" } });
  };

  const requireApiKey = (req: Request) => deps.apiKeys.check(req.headers.get("authorization"));

  /** Who reads a status: an api key, or a verified upload token; TOKEN_INVALID for no or a bad bearer. */
  const statusReader = async (req: Request): Promise<StatusReader> => {
    const header = req.headers.get("authorization");
    const credential = bearerCredential(header);
    if (!credential) throw new AppError("TOKEN_INVALID", undefined, {}, { reason: header ? "malformed" : "missing" });
    if (deps.apiKeys.matches(credential)) return { kind: "api_key" };
    const t = await deps.verifyToken(credential);
    return t.kind === "reviewer" ? { kind: "reviewer", claims: t.claims } : { kind: "token", claims: t.claims };
  };

  /**
   * The session a bearer may read, or SESSION_NOT_FOUND: the same error whatever the reason (no
   * such session, another candidate's), so a token holder cannot probe which sessions exist.
   */
  const readableSession = async (req: Request, segment: string, route: string, decide: typeof authorizeStatusRead = authorizeStatusRead): Promise<SessionSummary> => {
    const sessionId = decodeSegment(segment, () => new AppError("INVALID_SESSION_ID"));
    if (!isCanonicalUuid(sessionId)) throw new AppError("INVALID_SESSION_ID");
    const reader = await statusReader(req);
    let s: SessionSummary | null = null;
    try {
      s = await deps.status(sessionId);
    } catch (err) {
      if (!(err instanceof AppError && err.code === "SESSION_NOT_FOUND")) throw err;
    }
    const decision = decide(reader, sessionId, s);
    if (!decision.allow || !s) {
      if (decision.allow === false && decision.reason !== "unknown") deps.events.refused("FORBIDDEN", decision.reason, route);
      throw new AppError("SESSION_NOT_FOUND");
    }
    return s;
  };

  const status = async (req: Request, segment: string): Promise<Response> => {
    const s = await readableSession(req, segment, "status");
    return Response.json(
      {
        session_id: s.sessionId,
        status: s.status,
        total_chunks: s.totalChunks,
        total_frames: s.totalFrames,
        started_at: iso(s.startedAtMs),
        last_activity: iso(s.lastActivityMs),
        // From the session's lease in metadata: the same answer whichever replica is asked.
        is_connected: s.isConnected,
      },
      { headers: { ...cors(req), "cache-control": "no-store" } },
    );
  };

  const analysis = async (req: Request, segment: string): Promise<Response> => {
    const q = new URL(req.url).searchParams;
    const param = (name: string, fallback: number, min: number, max: number) => {
      const raw = q.get(name);
      if (raw === null || raw === "") return fallback;
      const v = /^-?[0-9]{1,10}$/.test(raw) ? Number(raw) : Number.NaN;
      if (!Number.isSafeInteger(v) || v < min || v > max) throw new AppError("INVALID_MESSAGE", `${name} must be an integer from ${min} to ${max}`, { field: name });
      return v;
    };
    const chunksAfter = param("chunks_after", -1, -1, 4_294_967_295);
    const framesAfter = param("frames_after", -1, -1, 4_294_967_295);
    const limit = param("limit", ANALYSIS_PAGE_DEFAULT, 1, ANALYSIS_PAGE_MAX);
    const s = await readableSession(req, segment, "analysis");
    const page = await deps.sessionAnalysis(s.sessionId, chunksAfter, framesAfter, limit);
    return Response.json(renderAnalysis(s.sessionId, page, { chunksAfter, framesAfter, limit }), { headers: { ...cors(req), "cache-control": "private, no-store" } });
  };

  const createInterview = async (req: Request): Promise<Response> => {
    requireApiKey(req);
    const body = await jsonBody(req);
    const title = body.title ?? "";
    if (typeof title !== "string" || title.length > MAX_TITLE) {
      throw new AppError("INVALID_MESSAGE", `title must be a string of at most ${MAX_TITLE} characters`, { field: "title" });
    }
    const id = await deps.createInterviewSession(title, retentionDaysField(body) ?? null);
    return Response.json({ interview_session_id: id }, { status: 201, headers: cors(req) });
  };

  const mint = async (req: Request, segment: string): Promise<Response> => {
    requireApiKey(req);
    const raw = decodeSegment(segment, () => new AppError("INTERVIEW_SESSION_NOT_FOUND"));
    if (!ID_RE.test(raw) || !Number.isSafeInteger(Number(raw))) throw new AppError("INTERVIEW_SESSION_NOT_FOUND");
    const interviewSessionId = Number(raw);
    const body = await jsonBody(req);
    // user_id is required: a token binds one candidate, and no default could name the right one.
    const userId = optionalInt(body, "user_id");
    if (userId === undefined) throw new AppError("INVALID_MESSAGE", "user_id is required: a token is bound to one candidate", { field: "user_id" });
    const sessionId = body.session_id ?? null;
    if (sessionId !== null && !isCanonicalUuid(sessionId)) throw new AppError("INVALID_MESSAGE", "session_id must be a canonical lowercase UUID", { field: "session_id" });
    const ttlS = optionalInt(body, "ttl_s") ?? deps.tokenDefaultTtlS;
    if (ttlS < 1 || ttlS > deps.tokenMaxTtlS) throw new AppError("INVALID_MESSAGE", `ttl_s must be an integer in [1, ${deps.tokenMaxTtlS}]`, { field: "ttl_s" });
    await deps.getInterviewSession(interviewSessionId); // 404 INTERVIEW_SESSION_NOT_FOUND
    const minted = await deps.mintToken({ interviewSessionId, userId, sessionId, ttlS });
    deps.events.minted();
    return Response.json(
      {
        token: minted.token,
        expires_at: isoSeconds(minted.expiresAt),
        interview_session_id: interviewSessionId,
        user_id: userId,
        ...(sessionId !== null ? { session_id: sessionId } : {}),
      },
      { status: 201, headers: { ...cors(req), "cache-control": "no-store" } },
    );
  };

  const retentionDeps = { retention: deps.retention, apiKeys: deps.apiKeys, headers: cors };

  const route = async (req: Request): Promise<Response> => {
    const { pathname } = new URL(req.url);
    const origin = req.headers.get("origin");
    if (origin && !originAllowed(origin)) throw new AppError("ORIGIN_NOT_ALLOWED", undefined, {}, { reason: "cors" });
    if (req.method === "OPTIONS") return new Response(null, { status: 204, headers: cors(req) });
    if (req.method === "GET" && pathname === "/healthz") return Response.json({ status: "ok" });
    if (req.method === "GET" && pathname === "/readyz") {
      const ok = await deps.ready().catch(() => false);
      return Response.json({ status: ok ? "ready" : "not_ready" }, { status: ok ? 200 : 503 });
    }
    const st = STATUS_RE.exec(pathname);
    if (req.method === "GET" && st) return status(req, st[1]!);
    const an = ANALYSIS_RE.exec(pathname);
    if (req.method === "GET" && an) return analysis(req, an[1]!);
    if (req.method === "POST" && pathname === "/interview-sessions") return createInterview(req);
    const tk = TOKENS_RE.exec(pathname);
    if (req.method === "POST" && tk) return mint(req, tk[1]!);
    const iv = INTERVIEW_RE.exec(pathname);
    if (req.method === "DELETE" && iv) return deleteInterviewSession(retentionDeps, req, iv[1]!);
    const lh = LEGAL_HOLD_RE.exec(pathname);
    if (req.method === "PUT" && lh) return putLegalHold(retentionDeps, req, lh[1]!);
    const rt = RETENTION_RE.exec(pathname);
    if (req.method === "PUT" && rt) return putRetention(retentionDeps, req, rt[1]!);
    const answered = await deps.review?.(req, pathname, { reader: statusReader, readableSession, cors, jsonBody, refused: (reason, route) => deps.events.refused("FORBIDDEN", reason, route) });
    if (answered) return answered;
    throw new AppError("NOT_FOUND", "no such route");
  };

  return (req) => route(req).catch((err) => errorResponse(req, err));
}

/** A route's fixed name for logs and metrics (never the path: it may carry ids). */
function routeName(pathname: string): string {
  if (STATUS_RE.test(pathname)) return "status";
  if (ANALYSIS_RE.test(pathname)) return "analysis";
  if (TOKENS_RE.test(pathname)) return "upload_tokens";
  if (pathname === "/interview-sessions") return "interview_sessions";
  return retentionRouteName(pathname) ?? reviewRouteName(pathname) ?? "other";
}
