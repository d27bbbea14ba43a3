/**
 * @module gateway-env
 * The gateway URLs for this page, from PUBLIC_GATEWAY_URL (runtime env of the web server) or the
 * page's own host, and "Begin interview". Browser-only (reads location, sessionStorage).
 */
import { env } from '$env/dynamic/public';
import { gatewayBaseUrl, mediaStreamUrl } from './gateway.ts';
import { requestGrant, saveGrant, type UploadGrant } from './upload-grant.ts';

export function gatewayUrls() {
  const base = gatewayBaseUrl(env.PUBLIC_GATEWAY_URL, location);
  return { base, ws: mediaStreamUrl(base) };
}

/** A new interview and its upload token from the web app's server, kept for this tab. */
export async function newInterview(): Promise<UploadGrant> {
  const grant = await requestGrant();
  saveGrant(sessionStorage, grant);
  return grant;
}

/** Starts a new interview (server side: interview + upload token) and opens the interview page for it. */
export async function beginInterview(goto: (url: string) => Promise<void>): Promise<void> {
  const grant = await newInterview();
  const q = new URLSearchParams(location.search);
  q.set('interview', String(grant.interview_session_id));
  await goto(`/interview?${q}`);
}
