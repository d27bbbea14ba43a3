/**
 * POST /review/{id}/erase (local mode only), body {"confirm": id}: erases the interview with the
 * API key (DELETE /interview-sessions/{id}, 202, the gateway runs the erasure). Refused unless
 * the browser is on this machine, the request comes from this web app's own page (Origin) and
 * carries JSON (a cross-site page cannot send that without a preflight, never granted here).
 */
import { json } from '@sveltejs/kit';
import { sameHost } from '$lib/review/access.ts';
import { localMode, reviewSettings } from '$lib/server/review-access.server.ts';
import { eraseInterview, errorResponse, ReviewError } from '$lib/server/review-api.server.ts';
import type { RequestHandler } from './$types';

const noStore = { 'cache-control': 'no-store' };

export const POST: RequestHandler = async (event) => {
  const cfg = reviewSettings();
  const id = Number(event.params.id);
  const refuse = (status: number, code: string, message: string) => errorResponse(new ReviewError(code, status, message));
  if (!localMode(event, cfg)) return refuse(403, 'FORBIDDEN', 'Erasing is offered only on the machine Candid runs on (local mode).');
  if (!sameHost(event.request.headers.get('origin'), event.url) || !(event.request.headers.get('content-type') ?? '').startsWith('application/json')) {
    return refuse(403, 'FORBIDDEN', 'Erase must come from the review page.');
  }
  const body = (await event.request.json().catch(() => null)) as { confirm?: unknown } | null;
  if (body?.confirm !== id) return refuse(400, 'NOT_CONFIRMED', 'Confirm the erasure first.');
  try {
    const r = await eraseInterview(cfg, id);
    return json({ interview_session_id: id, state: r.state }, { status: 202, headers: noStore });
  } catch (e) {
    if (e instanceof ReviewError) {
      if (e.code === 'LEGAL_HOLD') return refuse(409, 'LEGAL_HOLD', 'This interview is under a legal hold: it cannot be erased.');
      return errorResponse(e);
    }
    console.error(JSON.stringify({ level: 'error', service: 'web', msg: 'erase failed', code: 'INTERNAL' }));
    return refuse(500, 'INTERNAL', 'Erasing failed.');
  }
};
