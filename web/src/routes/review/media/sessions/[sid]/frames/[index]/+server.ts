/** GET /review/media/sessions/{sid}/frames/{frame_index}: one JPEG, through the gateway with the reviewer's bearer. */
import { indexParam, sessionIdParam } from '$lib/review/proxy.ts';
import { proxyAsReviewer } from '$lib/server/review-access.server.ts';
import { errorResponse, ReviewError } from '$lib/server/review-api.server.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = (event) => {
  const sid = sessionIdParam(event.params.sid);
  const index = indexParam(event.params.index);
  if (!sid || index === null) return errorResponse(new ReviewError('NOT_FOUND', 404, 'Not found.'));
  return proxyAsReviewer(event, 'GET', `/sessions/${sid}/frames/${index}`);
};
