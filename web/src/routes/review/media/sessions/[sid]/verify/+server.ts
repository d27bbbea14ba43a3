/**
 * POST /review/media/sessions/{sid}/verify: the gateway re-reads every stored blob of the
 * session and compares it with the sealed manifest; its JSON answer is passed back.
 */
import { sessionIdParam } from '$lib/review/proxy.ts';
import { proxyAsReviewer } from '$lib/server/review-access.server.ts';
import { errorResponse, ReviewError } from '$lib/server/review-api.server.ts';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = (event) => {
  const sid = sessionIdParam(event.params.sid);
  if (!sid) return errorResponse(new ReviewError('NOT_FOUND', 404, 'Not found.'));
  return proxyAsReviewer(event, 'POST', `/sessions/${sid}/verify`);
};
