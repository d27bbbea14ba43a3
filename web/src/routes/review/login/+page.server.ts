/**
 * GET /review/login?token=<reviewer token>: where an interview platform sends its interviewer.
 * The token is tried against the gateway (it must list interviews with it), kept in the
 * HttpOnly review cookie, and the browser is redirected at once so the token leaves the address
 * bar and the history: to the token's interview, or to the list.
 */
import { error, redirect } from '@sveltejs/kit';
import { landingPath, looksLikeToken } from '$lib/review/access.ts';
import { clearReviewCookie, NO_ACCESS, reviewSettings, setReviewCookie } from '$lib/server/review-access.server.ts';
import { listInterviews, ReviewError } from '$lib/server/review-api.server.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ url, cookies, setHeaders }) => {
  // The URL holds a bearer: no page it links to may learn it from the Referer.
  setHeaders({ 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' });
  const token = url.searchParams.get('token');
  if (!looksLikeToken(token)) error(401, { message: NO_ACCESS });
  try {
    await listInterviews(reviewSettings(), token, { limit: 1 });
  } catch (e) {
    clearReviewCookie(cookies);
    if (e instanceof ReviewError) error(e.status, { message: e.status === 401 ? 'This review link is not valid or has expired. Ask for a new one.' : e.message });
    throw e;
  }
  setReviewCookie(cookies, url, token);
  redirect(303, landingPath(token));
};
