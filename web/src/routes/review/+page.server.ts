/** /review: the interviews the reviewer may see, newest first. */
import { listInterviews } from '$lib/server/review-api.server.ts';
import { loadAsReviewer, localMode } from '$lib/server/review-access.server.ts';
import { indexParam } from '$lib/review/proxy.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  event.setHeaders({ 'cache-control': 'private, no-store' });
  const list = await loadAsReviewer(event, (token, cfg) => listInterviews(cfg, token));
  const erased = indexParam(event.url.searchParams.get('erased') ?? '', 1);
  return { interviews: list.interview_sessions, local: localMode(event), erased };
};
