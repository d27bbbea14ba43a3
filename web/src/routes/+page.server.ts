/**
 * The candidate's welcome page. In local mode (CANDID_REVIEW_LOCAL=1 under `npm start`, a
 * browser on this machine) it also lists the interviews recorded here, each with a Review link;
 * read with the API key on the server. Anywhere else it adds nothing.
 */
import { listInterviews, ReviewError } from '$lib/server/review-api.server.ts';
import { localMode, reviewSettings } from '$lib/server/review-access.server.ts';
import type { InterviewSummary } from '$lib/review/types.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  const cfg = reviewSettings();
  if (!localMode(event, cfg) || !cfg.apiKey) return { recorded: null };
  event.setHeaders({ 'cache-control': 'private, no-store' });
  try {
    const list = await listInterviews(cfg, cfg.apiKey, { limit: 50 });
    return { recorded: { interviews: list.interview_sessions as InterviewSummary[], error: null } };
  } catch (e) {
    return { recorded: { interviews: [] as InterviewSummary[], error: e instanceof ReviewError ? e.message : 'The interviews could not be listed.' } };
  }
};
