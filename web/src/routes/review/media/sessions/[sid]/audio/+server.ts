/**
 * GET/HEAD /review/media/sessions/{sid}/audio: the session's stitched track, streamed from the
 * gateway with the reviewer's bearer (an `<audio src>` cannot send one). Range requests pass
 * through (206, Content-Range; 416), Cache-Control: private.
 */
import { sessionIdParam } from '$lib/review/proxy.ts';
import { proxyAsReviewer } from '$lib/server/review-access.server.ts';
import { errorResponse, ReviewError } from '$lib/server/review-api.server.ts';
import type { RequestHandler } from './$types';

const handle =
  (method: 'GET' | 'HEAD'): RequestHandler =>
  (event) => {
    const sid = sessionIdParam(event.params.sid);
    if (!sid) return errorResponse(new ReviewError('NOT_FOUND', 404, 'Not found.'));
    return proxyAsReviewer(event, method, `/sessions/${sid}/audio`);
  };

export const GET = handle('GET');
export const HEAD = handle('HEAD');
