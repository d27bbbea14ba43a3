/** GET /review/media/sessions/{sid}/manifest: the sealed manifest (JSON; 409 while the session is open). */
import { sessionIdParam } from '$lib/review/proxy.ts';
import { proxyAsReviewer } from '$lib/server/review-access.server.ts';
import { errorResponse, ReviewError } from '$lib/server/review-api.server.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) => {
  const sid = sessionIdParam(event.params.sid);
  if (!sid) return errorResponse(new ReviewError('NOT_FOUND', 404, 'Not found.'));
  return proxyAsReviewer(event, 'GET', `/sessions/${sid}/manifest`);
};
