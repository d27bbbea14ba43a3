/**
 * GET /review/media/interviews/{id}/export: the interview as one zip (stitched audio, frames,
 * manifests, interview.json per media session), streamed from the gateway as it is made.
 */
import { indexParam } from '$lib/review/proxy.ts';
import { proxyAsReviewer } from '$lib/server/review-access.server.ts';
import { errorResponse, ReviewError } from '$lib/server/review-api.server.ts';
import type { RequestHandler } from './$types';

export const GET: RequestHandler = async (event) => {
  const id = indexParam(event.params.id, 1);
  if (id === null) return errorResponse(new ReviewError('NOT_FOUND', 404, 'Not found.'));
  const res = await proxyAsReviewer(event, 'GET', `/interview-sessions/${id}/export`);
  // A download keeps a name even where the gateway sends none.
  if (res.ok && !res.headers.has('content-disposition')) res.headers.set('content-disposition', `attachment; filename="interview-${id}.zip"`);
  return res;
};
