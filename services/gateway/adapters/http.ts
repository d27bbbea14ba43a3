/**
 * @module gateway/http
 * The gateway's plain HTTP routes (the WebSocket upgrade lives in ws-server.ts):
 *   GET  /sessions/{session_id}/status  exactly the specification's fields; 400 / 404 as errors
 *   POST /interview-sessions            {"title"?} -> 201 {"interview_session_id"}
 *   GET  /healthz  the process runs;  GET /readyz  both upstream services answer;  GET /metrics
 * Errors use the same JSON body as the WebSocket: {"type":"error","code","message"}.
 */
import { isCanonicalUuid } from "../../../proto/wire";
import { AppError, toAppError, toHttpError } from "../../shared/errors";
import type { Logger } from "../../shared/log";
import type { Registry } from "prom-client";
import { metricsResponse } from "../../shared/metrics";
import type { SessionSummary } from "../core/ports";
import type { SessionRegistry } from "../core/registry";

export interface HttpDeps {
  status(sessionId: string): Promise<SessionSummary>;
  createInterviewSession(title: string): Promise<number>;
  ready(): Promise<boolean>;
  registry: SessionRegistry;
  metrics: Registry;
  corsAllowedOrigins: string[];
  log: Logger;
}

const STATUS_RE = /^\/sessions\/([^/]+)\/status$/;
const MAX_TITLE = 200;

const iso = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : null);

export function createHttpHandler(deps: HttpDeps): (req: Request) => Promise<Response> {
  const cors = (req: Request): Record<string, string> => {
    const origin = req.headers.get("origin");
    if (!origin) return {};
    const allowed = deps.corsAllowedOrigins.includes("*") || deps.corsAllowedOrigins.includes(origin);
    if (!allowed) return {};
    return {
      "access-control-allow-origin": deps.corsAllowedOrigins.includes("*") ? "*" : origin,
      "access-control-allow-methods": "GET, POST, OPTIONS",
      "access-control-allow-headers": "content-type",
      "access-control-max-age": "600",
      vary: "origin",
    };
  };

  const errorResponse = (req: Request, err: unknown): Response => {
    const e = toAppError(err);
    if (e.code === "INTERNAL") deps.log.error("internal error", { path: new URL(req.url).pathname, err: e.cause ?? err });
    const { status, body } = toHttpError(e);
    return Response.json(body, { status, headers: cors(req) });
  };

  const route = async (req: Request): Promise<Response> => {
    const { pathname } = new URL(req.url);
    if (req.method === "OPTIONS") return new Response(null, { status: 204, headers: cors(req) });
    if (req.method === "GET" && pathname === "/healthz") return Response.json({ status: "ok" });
    if (req.method === "GET" && pathname === "/readyz") {
      const ok = await deps.ready().catch(() => false);
      return Response.json({ status: ok ? "ready" : "not_ready" }, { status: ok ? 200 : 503 });
    }
    if (req.method === "GET" && pathname === "/metrics") return metricsResponse(deps.metrics);
    const m = STATUS_RE.exec(pathname);
    if (req.method === "GET" && m) {
      const sessionId = decodeURIComponent(m[1]!);
      if (!isCanonicalUuid(sessionId)) throw new AppError("INVALID_SESSION_ID");
      const s = await deps.status(sessionId);
      return Response.json(
        {
          session_id: s.sessionId,
          status: s.status,
          total_chunks: s.totalChunks,
          total_frames: s.totalFrames,
          started_at: iso(s.startedAtMs),
          last_activity: iso(s.lastActivityMs),
          is_connected: deps.registry.isConnected(sessionId),
        },
        { headers: { ...cors(req), "cache-control": "no-store" } },
      );
    }
    if (req.method === "POST" && pathname === "/interview-sessions") {
      let body: unknown = {};
      const text = await req.text();
      if (text.trim()) {
        try {
          body = JSON.parse(text);
        } catch {
          throw new AppError("INVALID_JSON");
        }
      }
      if (typeof body !== "object" || body === null || Array.isArray(body)) throw new AppError("INVALID_JSON");
      const title = (body as { title?: unknown }).title ?? "";
      if (typeof title !== "string" || title.length > MAX_TITLE) {
        throw new AppError("INVALID_MESSAGE", `title must be a string of at most ${MAX_TITLE} characters`, { field: "title" });
      }
      const id = await deps.createInterviewSession(title);
      return Response.json({ interview_session_id: id }, { status: 201, headers: cors(req) });
    }
    throw new AppError("NOT_FOUND", `no route for ${req.method} ${pathname}`);
  };

  return (req) => route(req).catch((err) => errorResponse(req, err));
}
