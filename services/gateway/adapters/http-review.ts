/**
 * @module gateway/http-review
 * The review routes (issue 12; docs/review.md), mounted by http.ts after its own routes:
 *   POST /reviewer-tokens                       api key; {"interview_session_id"?, "ttl_s"?} -> 201 {"token","expires_at","interview_session_id"}
 *   GET  /interview-sessions                    api key or reviewer: interviews, newest first (?limit=&before=)
 *   GET  /interview-sessions/{id}               api key or reviewer of it: the interview and its media sessions
 *   GET  /interview-sessions/{id}/export        the same: a zip, streamed (audio.ogg, frames, manifest.json per session, interview.json)
 *   GET  /sessions/{sid}/timeline               api key or reviewer of its interview: where chunks, gaps and frames lie on the track
 *   GET  /sessions/{sid}/audio                  the same: the stitched gapless track (audio/ogg), HTTP Range
 *   GET  /sessions/{sid}/frames/{frame_index}   the same: one JPEG
 *   GET  /sessions/{sid}/manifest               the same: the sealed manifest (409 SESSION_NOT_SEALED before)
 *   POST /sessions/{sid}/verify                 the same: every blob re-read and compared with the manifest
 * Who may read is decided in core/authorize.ts (authorizeMediaRead, authorizeInterviewRead): an
 * upload token reads none of these. Anything a bearer may not read answers exactly what an unknown
 * id answers (404), so nobody can probe which ids exist. Media answer `Cache-Control: private`.
 */
import { Zip, ZipPassThrough } from "fflate";
import { AppError, toAppError, toHttpError } from "../../shared/errors";
import type { Logger } from "../../shared/log";
import { parseRange } from "../../shared/media/range";
import type { ReviewSession, StoredFrame } from "../../shared/review";
import { authorizeInterviewRead, authorizeMediaRead, type authorizeStatusRead, type ReadRefusal, type StatusReader } from "../core/authorize";
import { manifestRef, type Review } from "../core/review";
import { verifySentence } from "../core/manifest";
import type { SessionSummary } from "../core/ports";
import type { MintedToken } from "../core/tokens";
import { decodeSegment, interviewIdOf, optionalInt } from "./http-util";

/** The stitched track of a session and where everything lies on it (adapters/review-audio.ts). */
export interface SessionAudio {
  ogg: Uint8Array;
  /** Wall-clock ms of the track's t = 0: the first stored chunk's start (0: no chunks). */
  originMs: number;
  durationMs: number;
  chunks: { chunkIndex: number; startMs: number; endMs: number }[];
  gaps: { startMs: number; endMs: number; missingChunks: number[] }[];
  /** The session's frames, listed with the chunks the track was checked against (timeline, export). */
  frames: StoredFrame[];
}

export interface ReviewHttpDeps {
  review: Review;
  /** The session's stitched audio, built on first use and cached. */
  audio(session: SessionSummary): Promise<SessionAudio>;
  mintReviewerToken(req: { interviewSessionId: number | null; ttlS: number }): Promise<MintedToken>;
  tokenDefaultTtlS: number;
  tokenMaxTtlS: number;
  /** The api key check of the HTTP API (throws API_KEY_INVALID). */
  requireApiKey(req: Request): void;
  log: Logger;
}

/** What http.ts lends the review routes. */
export interface ReviewContext {
  reader(req: Request): Promise<StatusReader>;
  readableSession(req: Request, segment: string, route: string, decide: typeof authorizeStatusRead): Promise<SessionSummary>;
  cors(req: Request): Record<string, string>;
  jsonBody(req: Request): Promise<Record<string, unknown>>;
  refused(reason: ReadRefusal, route: string): void;
}

export type ReviewRoutes = (req: Request, pathname: string, ctx: ReviewContext) => Promise<Response | null>;

const SESSION_RE = /^\/sessions\/([^/]+)\/(timeline|audio|manifest|verify)$/;
const FRAME_RE = /^\/sessions\/([^/]+)\/frames\/([^/]+)$/;
const INTERVIEW_RE = /^\/interview-sessions\/([^/]+)$/;
const EXPORT_RE = /^\/interview-sessions\/([^/]+)\/export$/;
const INDEX_RE = /^(0|[1-9][0-9]{0,9})$/;
export const INTERVIEWS_PAGE_DEFAULT = 50;
export const INTERVIEWS_PAGE_MAX = 200;

/** A review route's fixed name for logs and metrics; null for other paths. */
export function reviewRouteName(pathname: string): string | null {
  if (pathname === "/reviewer-tokens") return "reviewer_tokens";
  const s = SESSION_RE.exec(pathname);
  if (s) return s[2]!;
  if (FRAME_RE.test(pathname)) return "frame";
  if (EXPORT_RE.test(pathname)) return "export";
  if (INTERVIEW_RE.test(pathname)) return "interview";
  return null;
}

const iso = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : null);
const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const PRIVATE = { "cache-control": "private, no-store" };
/** Bytes as a Response body (TypeScript's BodyInit wants an ArrayBuffer-backed view). */
const bytes = (b: Uint8Array) => b as Uint8Array<ArrayBuffer>;

function sessionJson(s: ReviewSession) {
  return {
    session_id: s.sessionId,
    user_id: s.userId || null,
    status: s.status,
    started_at: iso(s.startedAtMs),
    last_activity: iso(s.lastActivityMs),
    total_chunks: s.totalChunks,
    total_frames: s.totalFrames,
    stored_chunks: s.storedChunks,
    stored_frames: s.storedFrames,
    duration_ms: s.durationMs,
    sealed: s.manifestSha256 !== "",
    manifest_sha256: s.manifestSha256 || null,
    sealed_at: iso(s.sealedAtMs),
  };
}

function timelineJson(sessionId: string, a: SessionAudio, frames: { frameIndex: number; chunkIndex: number; offsetMs: number; timestampMs: number }[]) {
  return {
    session_id: sessionId,
    origin: iso(a.originMs),
    duration_ms: a.durationMs,
    chunks: a.chunks.map((c) => ({ chunk_index: c.chunkIndex, start_ms: c.startMs, end_ms: c.endMs })),
    gaps: a.gaps.map((g) => ({ start_ms: g.startMs, end_ms: g.endMs, missing_chunks: g.missingChunks })),
    // The track runs on the recording's wall clock (gaps are silence of their length), so a frame
    // lies at its own timestamp minus the origin.
    frames: frames.map((f) => ({ frame_index: f.frameIndex, chunk_index: f.chunkIndex, offset_ms: f.offsetMs, at_ms: a.originMs > 0 && f.timestampMs > 0 ? Math.max(0, f.timestampMs - a.originMs) : null })),
  };
}

/** Serves `body` whole or the one byte range the request asks for. */
export function rangeResponse(req: Request, body: Uint8Array, headers: Record<string, string>): Response {
  const size = body.byteLength;
  const base = { ...headers, "accept-ranges": "bytes" };
  const r = parseRange(req.headers.get("range"), size);
  if (r === "unsatisfiable") {
    const { status, body: err } = toHttpError(new AppError("RANGE_NOT_SATISFIABLE"));
    return Response.json(err, { status, headers: { ...base, "content-range": `bytes */${size}` } });
  }
  if (!r) return new Response(bytes(body), { status: 200, headers: { ...base, "content-length": String(size) } });
  return new Response(bytes(body.subarray(r.start, r.end + 1)), { status: 206, headers: { ...base, "content-range": `bytes ${r.start}-${r.end}/${size}`, "content-length": String(r.end - r.start + 1) } });
}

export function createReviewRoutes(deps: ReviewHttpDeps): ReviewRoutes {
  const { review } = deps;
  const mediaDecision: typeof authorizeStatusRead = (reader, _sid, owner) => authorizeMediaRead(reader, owner);

  /** The interview, if this reader may read it and it is not erased; else 404 like an unknown id. */
  const readableInterview = async (req: Request, segment: string, ctx: ReviewContext, route: string) => {
    const id = interviewIdOf(segment);
    const reader = await ctx.reader(req);
    const d = authorizeInterviewRead(reader, id);
    if (!d.allow) {
      ctx.refused(d.reason, route);
      throw new AppError("INTERVIEW_SESSION_NOT_FOUND");
    }
    // An interview being erased is not found (metadata hides it from the moment it is asked for).
    return review.interview(id);
  };

  const readableMediaSession = async (req: Request, segment: string, ctx: ReviewContext, route: string) => {
    return ctx.readableSession(req, segment, route, mediaDecision);
  };

  const mintReviewer = async (req: Request, ctx: ReviewContext) => {
    deps.requireApiKey(req);
    const body = await ctx.jsonBody(req);
    const interviewSessionId = optionalInt(body, "interview_session_id") ?? null;
    const ttlS = optionalInt(body, "ttl_s") ?? deps.tokenDefaultTtlS;
    if (ttlS < 1 || ttlS > deps.tokenMaxTtlS) throw new AppError("INVALID_MESSAGE", `ttl_s must be an integer in [1, ${deps.tokenMaxTtlS}]`, { field: "ttl_s" });
    if (interviewSessionId !== null) await review.interview(interviewSessionId); // 404 INTERVIEW_SESSION_NOT_FOUND
    const minted = await deps.mintReviewerToken({ interviewSessionId, ttlS });
    return Response.json({ token: minted.token, expires_at: isoSeconds(minted.expiresAt), interview_session_id: interviewSessionId }, { status: 201, headers: { ...ctx.cors(req), "cache-control": "no-store" } });
  };

  const listInterviews = async (req: Request, ctx: ReviewContext) => {
    const reader = await ctx.reader(req);
    // Counted once, by http.ts's error answer (FORBIDDEN is an access code), with this reason.
    if (reader.kind === "token") throw new AppError("FORBIDDEN", "an upload token cannot list interviews", {}, { reason: "upload_token" });
    const q = new URL(req.url).searchParams;
    const num = (name: string, fallback: number, min: number, max: number) => {
      const raw = q.get(name);
      if (raw === null || raw === "") return fallback;
      const v = /^[0-9]{1,16}$/.test(raw) ? Number(raw) : Number.NaN;
      if (!Number.isSafeInteger(v) || v < min || v > max) throw new AppError("INVALID_MESSAGE", `${name} must be an integer from ${min} to ${max}`, { field: name });
      return v;
    };
    const limit = num("limit", INTERVIEWS_PAGE_DEFAULT, 1, INTERVIEWS_PAGE_MAX);
    const before = num("before", 0, 1, Number.MAX_SAFE_INTEGER);
    const only = reader.kind === "reviewer" ? (reader.claims.interviewSessionId ?? 0) : 0;
    const page = await review.listInterviews(limit, before, only);
    return Response.json(
      {
        interview_sessions: page.interviews.map((i) => ({ interview_session_id: i.interviewSessionId, title: i.title, created_at: iso(i.createdAtMs), media_sessions: i.mediaSessions, last_activity: iso(i.lastActivityMs) })),
        more: page.more,
      },
      { headers: { ...ctx.cors(req), ...PRIVATE } },
    );
  };

  const interview = async (req: Request, segment: string, ctx: ReviewContext) => {
    const r = await readableInterview(req, segment, ctx, "interview");
    return Response.json(
      {
        interview_session_id: r.interview.interviewSessionId,
        title: r.interview.title,
        created_at: iso(r.interview.createdAtMs),
        last_activity: iso(r.interview.lastActivityMs),
        legal_hold: r.interview.legalHold,
        retention_days: r.interview.retentionDays || null,
        media_sessions: r.sessions.map(sessionJson),
      },
      { headers: { ...ctx.cors(req), ...PRIVATE } },
    );
  };

  const sessionRoute = async (req: Request, segment: string, what: string, ctx: ReviewContext): Promise<Response> => {
    const s = await readableMediaSession(req, segment, ctx, what);
    const headers = { ...ctx.cors(req), ...PRIVATE };
    if (what === "audio") {
      const a = await deps.audio(s);
      if (a.ogg.byteLength === 0) throw new AppError("NOT_FOUND", "the session has no audio");
      return rangeResponse(req, a.ogg, { ...headers, "content-type": "audio/ogg" });
    }
    if (what === "timeline") {
      const a = await deps.audio(s);
      return Response.json(timelineJson(s.sessionId, a, a.frames), { headers });
    }
    if (what === "manifest") {
      const m = await review.manifest(s);
      if (!m.intact) {
        deps.log.warn("manifest does not match its seal", { sessionId: s.sessionId });
        throw new AppError("INTERNAL", "the stored manifest does not match its seal: run verify");
      }
      return new Response(bytes(m.bytes), { headers: { ...headers, "content-type": "application/json" } });
    }
    const report = await review.verify(s);
    deps.log.info("verify", { sessionId: s.sessionId, ok: report.ok, chunks: report.chunks, frames: report.frames, missingChunks: report.missing_chunks.length, missingFrames: report.missing_frames.length, mismatched: report.mismatched.length });
    return Response.json({ ...report, summary: verifySentence(report) }, { headers });
  };

  const frame = async (req: Request, segment: string, indexSegment: string, ctx: ReviewContext): Promise<Response> => {
    const s = await readableMediaSession(req, segment, ctx, "frame");
    const raw = decodeSegment(indexSegment, () => new AppError("NOT_FOUND"));
    if (!INDEX_RE.test(raw) || Number(raw) > 4_294_967_295) throw new AppError("INVALID_MESSAGE", "frame_index must be a non-negative integer", { field: "frame_index" });
    const data = await review.blob({ sessionId: s.sessionId, kind: "frame", index: Number(raw), mediaType: "image/jpeg" });
    return new Response(bytes(data), { headers: { ...ctx.cors(req), ...PRIVATE, "content-type": "image/jpeg", "content-length": String(data.byteLength) } });
  };

  const exportZip = async (req: Request, segment: string, ctx: ReviewContext): Promise<Response> => {
    const r = await readableInterview(req, segment, ctx, "export");
    const id = r.interview.interviewSessionId;
    // One entry at a time, read when the client pulls: memory holds one blob, not the interview.
    async function* entries(): AsyncGenerator<[string, Uint8Array]> {
      const sessions = [];
      for (const rs of r.sessions) {
        const s = await review.status(rs.sessionId);
        const a = await deps.audio(s);
        if (a.ogg.byteLength) yield [`${rs.sessionId}/audio.ogg`, a.ogg];
        for (const f of a.frames) yield [`${rs.sessionId}/frames/frame_${f.frameIndex}.jpg`, await review.blob({ sessionId: rs.sessionId, kind: "frame", index: f.frameIndex, mediaType: f.mediaType })];
        if (rs.manifestSha256) yield [`${rs.sessionId}/manifest.json`, await review.blob(manifestRef(rs.sessionId))];
        // No chunk rows, no track to place anything on (originMs 0).
        sessions.push({ ...sessionJson(rs), timeline: a.originMs > 0 ? timelineJson(rs.sessionId, a, a.frames) : null });
      }
      const meta = { format: "candid-export/1", exported_at: new Date().toISOString(), interview_session_id: id, title: r.interview.title, created_at: iso(r.interview.createdAtMs), media_sessions: sessions };
      yield ["interview.json", new TextEncoder().encode(`${JSON.stringify(meta, null, 1)}\n`)];
    }
    const it = entries();
    let zip: Zip;
    let files = 0;
    let bytes = 0;
    const t0 = performance.now();
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        zip = new Zip((err, chunk, final) => {
          if (err) return controller.error(err);
          bytes += chunk.byteLength;
          controller.enqueue(chunk);
          if (final) {
            controller.close();
            deps.log.info("export", { interviewSessionId: id, files, bytes, ms: Math.round(performance.now() - t0) });
          }
        });
      },
      async pull() {
        try {
          const next = await it.next();
          if (next.done) return zip.end();
          const [name, data] = next.value;
          // Stored, not deflated: Opus and JPEG do not compress.
          const entry = new ZipPassThrough(`interview-${id}/${name}`);
          zip.add(entry);
          entry.push(data, true);
          files++;
        } catch (err) {
          deps.log.warn("export failed", { interviewSessionId: id, code: toAppError(err).code });
          zip.terminate();
          throw err;
        }
      },
      cancel() {
        void it.return(undefined);
      },
    });
    return new Response(body, {
      headers: { ...ctx.cors(req), ...PRIVATE, "content-type": "application/zip", "content-disposition": `attachment; filename="interview-${id}.zip"` },
    });
  };

  return async (req, pathname, ctx) => {
    if (req.method === "POST" && pathname === "/reviewer-tokens") return mintReviewer(req, ctx);
    if (req.method === "GET" && pathname === "/interview-sessions") return listInterviews(req, ctx);
    const ex = EXPORT_RE.exec(pathname);
    if (req.method === "GET" && ex) return exportZip(req, ex[1]!, ctx);
    const iv = INTERVIEW_RE.exec(pathname);
    if (req.method === "GET" && iv) return interview(req, iv[1]!, ctx);
    const fr = FRAME_RE.exec(pathname);
    if (req.method === "GET" && fr) return frame(req, fr[1]!, fr[2]!, ctx);
    const se = SESSION_RE.exec(pathname);
    if (se && ((req.method === "POST" && se[2] === "verify") || (req.method === "GET" && se[2] !== "verify"))) return sessionRoute(req, se[1]!, se[2]!, ctx);
    return null;
  };
}
