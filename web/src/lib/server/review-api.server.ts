/**
 * @module review-api.server
 * The review pages' calls to the gateway, made by the web server with the reviewer's bearer (the
 * token from the review cookie) or, for minting a reviewer token, listing interviews on the home
 * page and erasing, with the operator API key. Media is streamed through (`proxyToGateway`), JSON
 * is read here. Errors become a ReviewError with a fixed text per case: the gateway's own
 * messages, the token and the key never reach a page.
 *
 * Server-only by name; pure apart from the injected `fetch`, so it is unit-tested under bun.
 */
import { downstreamHeaders, passStatus, upstreamHeaders } from '../review/proxy.ts';
import type { Analysis, InterviewDetail, InterviewList, Timeline, VerifyResult } from '../review/types.ts';
import { mergeAnalysisPages } from '../review/findings.ts';

export interface ReviewConfig {
  /** CANDID_GATEWAY_URL */
  gatewayUrl: string;
  /** CANDID_API_KEY, or null: then no local mode, no erasure, no interview list on the home page */
  apiKey: string | null;
  /** CANDID_REVIEW_LOCAL=1 and a key: reviewers on this machine need no login */
  local: boolean;
}

export function reviewConfig(env: Record<string, string | undefined>): ReviewConfig {
  const apiKey = env.CANDID_API_KEY?.trim() || null;
  const gatewayUrl = (env.CANDID_GATEWAY_URL?.trim() || 'http://127.0.0.1:8000').replace(/\/+$/, '');
  return { gatewayUrl, apiKey, local: env.CANDID_REVIEW_LOCAL?.trim() === '1' && apiKey !== null };
}

export class ReviewError extends Error {
  constructor(
    /** GATEWAY_UNREACHABLE, NOT_CONFIGURED, BAD_GATEWAY_ANSWER, or the gateway's code (TOKEN_EXPIRED, SESSION_NOT_SEALED, …) */
    readonly code: string,
    /** what the page answers: 401 access refused, 404 not found, 409 not possible now, 502/503 */
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ReviewError';
  }
}

const TEXT: Record<number, string> = {
  401: 'Your review access was refused or has expired.',
  404: 'Not found (or not yours to review).',
  409: 'Not possible right now',
};

function refusal(status: number, code: string): ReviewError {
  if (status === 401 || status === 403) return new ReviewError(code, 401, TEXT[401]!);
  if (status === 404) return new ReviewError(code, 404, TEXT[404]!);
  if (status === 409) return new ReviewError(code, 409, `${TEXT[409]} (${code}).`);
  if (status === 400) return new ReviewError(code, 400, `The recording service refused the request (${code}).`);
  return new ReviewError(code, 502, `The recording service answered with an error (${code}).`);
}

type Fetch = typeof fetch;

async function send(cfg: ReviewConfig, method: string, path: string, bearer: string, body: unknown, fetchImpl: Fetch): Promise<Response> {
  try {
    return await fetchImpl(`${cfg.gatewayUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ReviewError('GATEWAY_UNREACHABLE', 503, 'The recording service cannot be reached.');
  }
}

async function callJson<T>(cfg: ReviewConfig, method: string, path: string, bearer: string, fetchImpl: Fetch, body?: unknown): Promise<T> {
  const res = await send(cfg, method, path, bearer, body, fetchImpl);
  const json = (await res.json().catch(() => null)) as (T & { code?: unknown }) | null;
  if (!res.ok) throw refusal(res.status, json && typeof json.code === 'string' ? json.code : `HTTP_${res.status}`);
  if (json === null || typeof json !== 'object') throw new ReviewError('BAD_GATEWAY_ANSWER', 502, 'The recording service gave an answer the web app cannot read.');
  return json;
}

function needKey(cfg: ReviewConfig): string {
  if (!cfg.apiKey) throw new ReviewError('NOT_CONFIGURED', 503, 'The web app has no CANDID_API_KEY.');
  return cfg.apiKey;
}

/** Interviews the bearer may read, newest first (an api key or an all-interviews reviewer: all). */
export async function listInterviews(cfg: ReviewConfig, bearer: string, opts: { limit?: number } = {}, fetchImpl: Fetch = fetch): Promise<InterviewList> {
  const list = await callJson<InterviewList>(cfg, 'GET', `/interview-sessions?limit=${opts.limit ?? 200}`, bearer, fetchImpl);
  if (!Array.isArray(list.interview_sessions)) throw new ReviewError('BAD_GATEWAY_ANSWER', 502, 'The recording service gave no interview list.');
  return list;
}

export function getInterview(cfg: ReviewConfig, bearer: string, id: number, fetchImpl: Fetch = fetch): Promise<InterviewDetail> {
  return callJson<InterviewDetail>(cfg, 'GET', `/interview-sessions/${id}`, bearer, fetchImpl);
}

export function getTimeline(cfg: ReviewConfig, bearer: string, sessionId: string, fetchImpl: Fetch = fetch): Promise<Timeline> {
  return callJson<Timeline>(cfg, 'GET', `/sessions/${sessionId}/timeline`, bearer, fetchImpl);
}

/** Most analysis pages read for one page view (500 chunks and 500 frames each: > 80 min at 10 s / 2 s). */
export const MAX_ANALYSIS_PAGES = 8;

/** The session's analysis, every page of it (up to MAX_ANALYSIS_PAGES), merged. */
export async function getAnalysis(cfg: ReviewConfig, bearer: string, sessionId: string, fetchImpl: Fetch = fetch): Promise<Analysis> {
  const pages: Analysis[] = [];
  let q = 'limit=500';
  for (let i = 0; i < MAX_ANALYSIS_PAGES; i++) {
    const p = await callJson<Analysis>(cfg, 'GET', `/sessions/${sessionId}/analysis?${q}`, bearer, fetchImpl);
    pages.push(p);
    if (!p.next) break;
    q = `chunks_after=${p.next.chunks_after}&frames_after=${p.next.frames_after}&limit=${p.next.limit}`;
  }
  return mergeAnalysisPages(pages)!;
}

export function verifySession(cfg: ReviewConfig, bearer: string, sessionId: string, fetchImpl: Fetch = fetch): Promise<VerifyResult> {
  return callJson<VerifyResult>(cfg, 'POST', `/sessions/${sessionId}/verify`, bearer, fetchImpl);
}

/** A reviewer token minted with the API key (local mode): all interviews unless one is named. */
export async function mintReviewerToken(cfg: ReviewConfig, opts: { interviewSessionId?: number; ttlS: number }, fetchImpl: Fetch = fetch): Promise<{ token: string; expires_at: string }> {
  const body = { ttl_s: opts.ttlS, ...(opts.interviewSessionId ? { interview_session_id: opts.interviewSessionId } : {}) };
  const minted = await callJson<{ token?: unknown; expires_at?: unknown }>(cfg, 'POST', '/reviewer-tokens', needKey(cfg), fetchImpl, body);
  if (typeof minted.token !== 'string' || typeof minted.expires_at !== 'string') throw new ReviewError('BAD_GATEWAY_ANSWER', 502, 'The recording service gave no reviewer token.');
  return { token: minted.token, expires_at: minted.expires_at };
}

/** DELETE /interview-sessions/{id} with the API key: 202, the erasure runs on the gateway's side. */
export async function eraseInterview(cfg: ReviewConfig, id: number, fetchImpl: Fetch = fetch): Promise<{ erasure_id: unknown; state: string }> {
  return callJson<{ erasure_id: unknown; state: string }>(cfg, 'DELETE', `/interview-sessions/${id}`, needKey(cfg), fetchImpl);
}

/**
 * Streams one gateway answer to the browser: the reviewer's bearer and the browser's Range go up,
 * the body comes back unread (a long recording is never held in memory), with the headers
 * review/proxy.ts allows and the gateway's status (206/416 for ranges). A refusal's JSON body is
 * replaced by a fixed one.
 */
export async function proxyToGateway(cfg: ReviewConfig, bearer: string, method: 'GET' | 'HEAD' | 'POST', path: string, browser: Headers, fetchImpl: Fetch = fetch): Promise<Response> {
  let res: Response;
  try {
    res = await fetchImpl(`${cfg.gatewayUrl}${path}`, { method, headers: upstreamHeaders(browser, bearer) });
  } catch {
    return errorResponse(new ReviewError('GATEWAY_UNREACHABLE', 503, 'The recording service cannot be reached.'));
  }
  if (res.status >= 400 && res.status !== 416) {
    const json = (await res.json().catch(() => null)) as { code?: unknown } | null;
    return errorResponse(refusal(res.status, json && typeof json.code === 'string' ? json.code : `HTTP_${res.status}`));
  }
  return new Response(method === 'HEAD' || res.status === 304 ? null : res.body, { status: passStatus(res.status), headers: downstreamHeaders(res.headers) });
}

export function errorResponse(e: ReviewError): Response {
  return new Response(JSON.stringify({ type: 'error', code: e.code, message: e.message }), {
    status: e.status,
    headers: { 'content-type': 'application/json', 'cache-control': 'private, no-store' },
  });
}
