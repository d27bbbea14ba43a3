/**
 * @module review-access.server
 * Who may see the review pages, per request: the reviewer token in the review cookie (set by
 * /review/login from a link an interview platform gave its interviewer), or, in local mode
 * (CANDID_REVIEW_LOCAL=1 under `npm start`) for a browser on this machine, a token the web app
 * mints itself with its API key and keeps in the same cookie. Without either the pages answer 401.
 *
 * A token the gateway refuses (expired, revoked by a key rotation) removes the cookie; in local
 * mode a fresh one is minted and the call repeated once.
 */
import { error, type Cookies, type RequestEvent } from '@sveltejs/kit';
import { isLocalRequest, LOCAL_TOKEN_TTL_S, looksLikeToken, REVIEW_COOKIE, REVIEW_COOKIE_PATH, reviewCookieOptions } from '../review/access.ts';
import { errorResponse, mintReviewerToken, proxyToGateway, ReviewError, type ReviewConfig } from './review-api.server.ts';
import { reviewSettings } from './review-settings.server.ts';

export { reviewSettings };

type Event = Pick<RequestEvent, 'cookies' | 'url' | 'getClientAddress'>;
type Fetch = typeof fetch;

/** Local mode applies to this request: configured, and the browser is on this machine. */
export function localMode(event: Event, cfg: ReviewConfig = reviewSettings()): boolean {
  if (!cfg.local) return false;
  try {
    return isLocalRequest(event.getClientAddress(), event.url);
  } catch {
    return false;
  }
}

export function setReviewCookie(cookies: Cookies, url: URL, token: string): void {
  cookies.set(REVIEW_COOKIE, token, reviewCookieOptions(url, token));
}

export function clearReviewCookie(cookies: Cookies): void {
  cookies.delete(REVIEW_COOKIE, { path: REVIEW_COOKIE_PATH });
}

export const NO_ACCESS =
  'Reviewing needs access: open the review link your interview platform gave you, or run Candid on this machine with `npm start` and open the review page from its home page.';

async function mintLocal(event: Event, cfg: ReviewConfig, fetchImpl: Fetch): Promise<string> {
  const { token } = await mintReviewerToken(cfg, { ttlS: LOCAL_TOKEN_TTL_S }, fetchImpl);
  setReviewCookie(event.cookies, event.url, token);
  return token;
}

/**
 * Runs `fn` with the reviewer's bearer. Throws ReviewError 401 (NO_ACCESS) when there is none;
 * other ReviewErrors from `fn` pass through.
 */
export async function withReviewer<T>(event: Event, fn: (token: string) => Promise<T>, cfg: ReviewConfig = reviewSettings(), fetchImpl: Fetch = fetch): Promise<T> {
  const local = localMode(event, cfg);
  const cookie = event.cookies.get(REVIEW_COOKIE);
  let token = looksLikeToken(cookie) ? cookie : null;
  let minted = false;
  if (!token) {
    if (!local) throw new ReviewError('NO_ACCESS', 401, NO_ACCESS);
    token = await mintLocal(event, cfg, fetchImpl);
    minted = true;
  }
  try {
    return await fn(token);
  } catch (e) {
    if (!(e instanceof ReviewError) || e.status !== 401) throw e;
    clearReviewCookie(event.cookies);
    if (!local || minted) throw e;
    return fn(await mintLocal(event, cfg, fetchImpl));
  }
}

/** For page loads: withReviewer, a ReviewError becoming the page's error (status and fixed text). */
export async function loadAsReviewer<T>(event: Event, fn: (token: string, cfg: ReviewConfig) => Promise<T>): Promise<T> {
  const cfg = reviewSettings();
  try {
    return await withReviewer(event, (t) => fn(t, cfg), cfg);
  } catch (e) {
    throw asPageError(e);
  }
}

export function asPageError(e: unknown): never {
  if (e instanceof ReviewError) error(e.status, { message: e.message });
  console.error(JSON.stringify({ level: 'error', service: 'web', msg: 'review page failed', code: 'INTERNAL' }));
  error(500, { message: 'The review page failed.' });
}

/** For the media proxy routes: the gateway's answer streamed, or a JSON error. */
export async function proxyAsReviewer(event: Event & Pick<RequestEvent, 'request'>, method: 'GET' | 'HEAD' | 'POST', path: string): Promise<Response> {
  const cfg = reviewSettings();
  try {
    return await withReviewer(
      event,
      async (token) => {
        const res = await proxyToGateway(cfg, token, method, path, event.request.headers);
        // withReviewer retries a refused token once in local mode.
        if (res.status === 401) throw new ReviewError('TOKEN_REFUSED', 401, 'Your review access was refused or has expired.');
        return res;
      },
      cfg,
    );
  } catch (e) {
    if (e instanceof ReviewError) return errorResponse(e);
    console.error(JSON.stringify({ level: 'error', service: 'web', msg: 'review proxy failed', code: 'INTERNAL' }));
    return errorResponse(new ReviewError('INTERNAL', 500, 'The review proxy failed.'));
  }
}
