/**
 * /review/{id}: one interview, its media sessions, and for the selected one (?session=, else the
 * first) what the player needs: the timeline of the stitched track and the analysis placed on it.
 * The media itself is fetched by the page through /review/media/… (the proxy).
 * Erasing (local mode) is ./erase/+server.ts.
 */
import { placeFindings } from '$lib/review/findings.ts';
import type { Findings } from '$lib/review/findings.ts';
import type { Timeline } from '$lib/review/types.ts';
import { getAnalysis, getInterview, getTimeline, ReviewError } from '$lib/server/review-api.server.ts';
import { loadAsReviewer, localMode } from '$lib/server/review-access.server.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  event.setHeaders({ 'cache-control': 'private, no-store' });
  const id = Number(event.params.id);
  return loadAsReviewer(event, async (token, cfg) => {
    const interview = await getInterview(cfg, token, id);
    const wanted = event.url.searchParams.get('session');
    const selected = interview.media_sessions.find((s) => s.session_id === wanted) ?? interview.media_sessions[0] ?? null;
    let timeline: Timeline | null = null;
    let findings: Findings | null = null;
    let timelineError: string | null = null;
    let analysisError: string | null = null;
    if (selected) {
      const [t, a] = await Promise.allSettled([getTimeline(cfg, token, selected.session_id), getAnalysis(cfg, token, selected.session_id)]);
      if (t.status === 'fulfilled') timeline = t.value;
      else if (t.reason instanceof ReviewError) {
        if (t.reason.status === 401) throw t.reason;
        timelineError = t.reason.message;
      } else throw t.reason;
      if (a.status === 'fulfilled' && timeline) findings = placeFindings(a.value, timeline);
      else if (a.status === 'rejected') analysisError = a.reason instanceof ReviewError ? a.reason.message : 'The analysis could not be read.';
    }
    return { interview, selectedId: selected?.session_id ?? null, timeline, findings, timelineError, analysisError, local: localMode(event, cfg) };
  });
};
