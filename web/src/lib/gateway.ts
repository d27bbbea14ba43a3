/**
 * @module gateway
 * Where the gateway is, and the one HTTP call the capture client makes (creating the interview
 * session it records for). The base URL comes from PUBLIC_GATEWAY_URL (runtime env, passed in by
 * the caller) or defaults to port 8000 on the host that served the page.
 */

export function gatewayBaseUrl(publicGatewayUrl: string | undefined, loc: { protocol: string; hostname: string }): string {
  const fromEnv = publicGatewayUrl?.trim();
  if (fromEnv) return fromEnv.replace(/\/+$/, '');
  return `${loc.protocol}//${loc.hostname}:8000`;
}

/** http(s)://host:port → ws(s)://host:port/ws/media-stream */
export function mediaStreamUrl(baseUrl: string): string {
  return `${baseUrl.replace(/^http/, 'ws')}/ws/media-stream`;
}

export class GatewayError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

export async function createInterviewSession(baseUrl: string, title: string, fetchImpl: typeof fetch = fetch): Promise<number> {
  let res: Response;
  try {
    res = await fetchImpl(`${baseUrl}/interview-sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ title }),
    });
  } catch (e) {
    throw new GatewayError('UNREACHABLE', `The recording service at ${baseUrl} cannot be reached.`);
  }
  const body = (await res.json().catch(() => ({}))) as { interview_session_id?: number; code?: string; message?: string };
  if (!res.ok || typeof body.interview_session_id !== 'number') {
    throw new GatewayError(body.code ?? `HTTP_${res.status}`, body.message ?? `Creating the interview failed (HTTP ${res.status}).`);
  }
  return body.interview_session_id;
}

/** Reads ?chunkMs=&frameMs= style overrides (for tests and demos); invalid values are ignored. */
export function intervalOverrides(params: URLSearchParams): { audioChunkDuration?: number; frameInterval?: number } {
  const num = (k: string, min: number) => {
    const v = Number(params.get(k));
    return Number.isFinite(v) && v >= min ? Math.floor(v) : undefined;
  };
  return { audioChunkDuration: num('chunkMs', 500), frameInterval: num('frameMs', 100) };
}
