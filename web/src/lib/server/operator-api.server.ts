/**
 * @module operator-api.server
 * The web app's server side as an operator of the gateway: with the one API key the launcher (or
 * the chart) gives it, it creates an interview and mints an upload token for the candidate. Only
 * the token, and the ids it is bound to, ever reach a browser; the key stays in this process.
 *
 * Server-only by name (`*.server.ts`): SvelteKit refuses to bundle it into client code. Pure apart
 * from the injected `fetch`, so it is unit-tested under bun; the route reads the environment
 * (`$env/dynamic/private`) and passes it in.
 *
 * There is deliberately no way to ask for a token for an existing interview: a browser can only
 * get a new interview with a token for it (docs/security.md).
 */

import type { UploadGrant } from '../upload-grant.ts';

export type { UploadGrant };

/**
 * The candidate's user_id in Candid's own demo flow. A platform knows its candidates and mints a
 * token per candidate; Candid's web app has one anonymous candidate per interview, always user 1.
 */
export const DEMO_CANDIDATE_USER_ID = 1;

export interface OperatorConfig {
  /** The gateway's base URL for server-side calls (CANDID_GATEWAY_URL). */
  gatewayUrl: string;
  /** One operator API key (CANDID_API_KEY); never logged, never sent to a browser. */
  apiKey: string;
}

export class OperatorError extends Error {
  constructor(
    /** GATEWAY_UNREACHABLE, NOT_CONFIGURED, or the gateway's own code (API_KEY_INVALID, …) */
    readonly code: string,
    /** the HTTP status the route answers with */
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'OperatorError';
  }
}

/** The operator config from the server's environment, or a NOT_CONFIGURED error naming what is missing. */
export function operatorConfig(env: Record<string, string | undefined>): OperatorConfig {
  const apiKey = env.CANDID_API_KEY?.trim();
  if (!apiKey) throw new OperatorError('NOT_CONFIGURED', 503, 'The web app has no CANDID_API_KEY, so it cannot start interviews.');
  const gatewayUrl = (env.CANDID_GATEWAY_URL?.trim() || 'http://127.0.0.1:8000').replace(/\/+$/, '');
  return { gatewayUrl, apiKey };
}

async function call<T>(cfg: OperatorConfig, path: string, body: unknown, fetchImpl: typeof fetch): Promise<T> {
  let res: Response;
  try {
    res = await fetchImpl(`${cfg.gatewayUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cfg.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    throw new OperatorError('GATEWAY_UNREACHABLE', 503, 'The recording service cannot be reached.');
  }
  const json = (await res.json().catch(() => ({}))) as T & { code?: unknown };
  if (!res.ok) {
    const code = typeof json.code === 'string' ? json.code : `HTTP_${res.status}`;
    // The gateway's message is not passed on: the browser gets a fixed text per case.
    throw new OperatorError(code, 502, `The recording service refused to start the interview (${code}).`);
  }
  return json;
}

/** Creates a new interview and mints an upload token for its candidate. */
export async function createInterviewGrant(cfg: OperatorConfig, opts: { title: string; userId?: number; ttlS?: number }, fetchImpl: typeof fetch = fetch): Promise<UploadGrant> {
  const created = await call<{ interview_session_id?: unknown }>(cfg, '/interview-sessions', { title: opts.title }, fetchImpl);
  const id = created.interview_session_id;
  if (typeof id !== 'number' || !Number.isInteger(id)) throw new OperatorError('BAD_GATEWAY_ANSWER', 502, 'The recording service gave no interview id.');
  const userId = opts.userId ?? DEMO_CANDIDATE_USER_ID;
  const minted = await call<Partial<UploadGrant>>(
    cfg,
    `/interview-sessions/${id}/upload-tokens`,
    { user_id: userId, ...(opts.ttlS !== undefined ? { ttl_s: opts.ttlS } : {}) },
    fetchImpl,
  );
  if (typeof minted.token !== 'string' || typeof minted.expires_at !== 'string') {
    throw new OperatorError('BAD_GATEWAY_ANSWER', 502, 'The recording service gave no upload token.');
  }
  return { interview_session_id: id, user_id: userId, token: minted.token, expires_at: minted.expires_at };
}
