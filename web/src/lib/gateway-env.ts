/**
 * @module gateway-env
 * The gateway URLs for this page, from PUBLIC_GATEWAY_URL (runtime env of the web server) or the
 * page's own host. Browser-only (reads location).
 */
import { env } from '$env/dynamic/public';
import { createInterviewSession, gatewayBaseUrl, mediaStreamUrl } from './gateway.ts';

export function gatewayUrls() {
  const base = gatewayBaseUrl(env.PUBLIC_GATEWAY_URL, location);
  return { base, ws: mediaStreamUrl(base) };
}

/** Creates an interview session on the gateway and opens the interview page for it. */
export async function beginInterview(goto: (url: string) => Promise<void>): Promise<void> {
  const id = await createInterviewSession(gatewayUrls().base, `Interview ${new Date().toISOString()}`);
  const q = new URLSearchParams(location.search);
  q.set('interview', String(id));
  await goto(`/interview?${q}`);
}
