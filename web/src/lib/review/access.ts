/**
 * @module review/access
 * How a reviewer's bearer is kept by the web app: the reviewer token (minted by the gateway, a
 * JWT) lives in one HttpOnly cookie on Path=/review, so page scripts never see it and the browser
 * sends it only to the review pages and their media proxy. What the web app reads out of the token
 * (its scope and expiry) only steers redirects and the cookie's lifetime; the gateway verifies it
 * on every call. Pure: the routes pass in the URL, the addresses and the environment.
 */

export const REVIEW_COOKIE = 'candid_review';
export const REVIEW_COOKIE_PATH = '/review';

/** Lifetime of the reviewer token the web app mints for itself in local mode, in seconds. */
export const LOCAL_TOKEN_TTL_S = 3600;

/** Longest token a login link may carry (a reviewer JWT is ~250 bytes). */
const MAX_TOKEN_CHARS = 4096;

export interface CookieOptions {
  path: string;
  httpOnly: true;
  sameSite: 'strict';
  secure: boolean;
  maxAge: number;
}

/**
 * The cookie's attributes: Secure whenever the page is served over https (behind a TLS proxy,
 * adapter-node needs ORIGIN or PROTOCOL_HEADER to know it); it lasts as long as the token, at
 * most a day.
 */
export function reviewCookieOptions(url: URL, token: string, nowMs = Date.now()): CookieOptions {
  const exp = tokenClaims(token)?.expMs;
  const left = exp ? Math.floor((exp - nowMs) / 1000) : LOCAL_TOKEN_TTL_S;
  return { path: REVIEW_COOKIE_PATH, httpOnly: true, sameSite: 'strict', secure: url.protocol === 'https:', maxAge: Math.max(1, Math.min(left, 86_400)) };
}

/** A string that can be a compact JWT (three base64url parts), before it is sent anywhere. */
export function looksLikeToken(s: string | null | undefined): s is string {
  return typeof s === 'string' && s.length <= MAX_TOKEN_CHARS && /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(s);
}

export interface TokenClaims {
  /** the one interview the token is for; null: all interviews */
  interviewSessionId: number | null;
  expMs: number | null;
}

/** The unverified claims of a reviewer token, or null when it is not a JWT. */
export function tokenClaims(token: string): TokenClaims | null {
  if (!looksLikeToken(token)) return null;
  try {
    const b64 = token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4))) as Record<string, unknown>;
    const id = json.interview_session_id;
    return {
      interviewSessionId: typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : null,
      expMs: typeof json.exp === 'number' && Number.isFinite(json.exp) ? json.exp * 1000 : null,
    };
  } catch {
    return null;
  }
}

/** Where a login lands: the token's one interview, else the list. */
export function landingPath(token: string): string {
  const id = tokenClaims(token)?.interviewSessionId;
  return id ? `/review/${id}` : '/review';
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** An address of this machine's loopback interface (IPv4 127/8, ::1, and IPv4-mapped 127/8). */
export function isLoopbackAddress(addr: string): boolean {
  const a = addr.trim().toLowerCase();
  if (a === '::1') return true;
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/**
 * Local mode's gate: it hands out review access (and erasure) without any login, so only to a
 * browser on this machine that also addressed this machine by name. The Host check keeps a web
 * page elsewhere from reaching it by DNS rebinding (its host name would be its own).
 */
export function isLocalRequest(clientAddress: string, url: URL): boolean {
  const host = url.hostname.toLowerCase();
  return isLoopbackAddress(clientAddress) && (LOOPBACK_NAMES.has(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host));
}

/**
 * A state-changing request (erase) came from a page of this web app: its Origin names the host
 * and port the request was sent to. Only the host is compared: without ORIGIN set (as under
 * `npm start`, so that localhost and 127.0.0.1 both work), adapter-node assumes https for every
 * request. Cross-site pages can still send simple POSTs, which is why erase also demands a JSON
 * body (that needs a CORS preflight, which this server never grants).
 */
export function sameHost(origin: string | null, url: URL): boolean {
  if (!origin) return false;
  try {
    return new URL(origin).host.toLowerCase() === url.host.toLowerCase();
  } catch {
    return false;
  }
}
