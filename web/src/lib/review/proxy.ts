/**
 * @module review/proxy
 * Which headers cross the web server's media proxy (routes/review/media/…): the browser's
 * `<audio>` and `<img>` cannot send an Authorization header, so the web server adds the
 * reviewer's bearer and streams the gateway's answer back. Only what playback, download and
 * caching need passes either way; nothing else of the browser's request (its cookies above all)
 * reaches the gateway, and nothing else of the gateway's answer reaches the browser. Pure.
 */

/** Request headers passed to the gateway (Range for seeking in audio; the validators for re-reads). */
export const REQUEST_HEADERS = ['range', 'if-range', 'if-none-match', 'if-modified-since'] as const;

/** Answer headers passed back to the browser. */
export const RESPONSE_HEADERS = ['content-type', 'content-length', 'content-range', 'accept-ranges', 'content-disposition', 'etag', 'last-modified'] as const;

/** The gateway request's headers: the bearer plus the allowed ones of the browser's request. */
export function upstreamHeaders(browser: Headers, token: string): Headers {
  const out = new Headers();
  for (const name of REQUEST_HEADERS) {
    const v = browser.get(name);
    if (v !== null) out.set(name, v);
  }
  out.set('authorization', `Bearer ${token}`);
  // fetch would decode a compressed answer and leave its Content-Length stale: ask for none.
  out.set('accept-encoding', 'identity');
  return out;
}

/**
 * The browser answer's headers: the allowed ones of the gateway's answer, always
 * `Cache-Control: private` (media of an interview must not sit in a shared cache) and nosniff.
 * JSON error bodies keep their content type.
 */
export function downstreamHeaders(gateway: Headers): Headers {
  const out = new Headers();
  for (const name of RESPONSE_HEADERS) {
    const v = gateway.get(name);
    if (v !== null) out.set(name, v);
  }
  // A body fetch has decoded no longer has the length the gateway sent.
  if (gateway.get('content-encoding')) out.delete('content-length');
  const cc = gateway.get('cache-control') ?? '';
  out.set('cache-control', /no-store/i.test(cc) ? 'private, no-store' : 'private');
  out.set('x-content-type-options', 'nosniff');
  return out;
}

/** The statuses passed through as they are; anything else from the gateway becomes 502. */
export function passStatus(status: number): number {
  if ((status >= 200 && status < 300) || status === 304 || status === 404 || status === 409 || status === 416) return status;
  // A refused or expired bearer is the reviewer's access ending, not the media missing.
  if (status === 401 || status === 403) return 401;
  if (status === 400) return 400;
  return 502;
}

/** A session id as the gateway writes them (a canonical UUID), or null. Checked before it goes into a path. */
export function sessionIdParam(s: string): string | null {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s) ? s.toLowerCase() : null;
}

/** A non-negative integer path parameter (interview id, frame index), or null. */
export function indexParam(s: string, min = 0): number | null {
  if (!/^\d{1,15}$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) && n >= min ? n : null;
}
