/**
 * @module operator-api
 * What an interview platform does with its API key, for tests and benchmarks: create interviews,
 * mint upload tokens, read a session's status (docs/security.md, "Putting Candid behind an
 * interview platform"). Also the secrets a test gateway is started with.
 */
import { randomBytes } from "node:crypto";

/** A fresh CANDID_API_KEYS / CANDID_TOKEN_SECRETS value: 32 random bytes, base64url. */
export function generateSecret(): string {
  return randomBytes(32).toString("base64url");
}

export interface MintedUploadToken {
  token: string;
  expires_at: string;
  interview_session_id: number;
  user_id: number;
  session_id?: string;
}

export interface OperatorApi {
  readonly apiKey: string;
  /** POST /interview-sessions → the new interview's id (throws unless 201). */
  createInterview(title?: string): Promise<number>;
  /** POST /interview-sessions/{id}/upload-tokens → the token (throws unless 201). */
  mintToken(interviewSessionId: number, userId: number, opts?: { sessionId?: string; ttlS?: number }): Promise<string>;
  /** GET /sessions/{id}/status with a bearer (the api key by default; null: none). */
  status(sessionId: string, bearer?: string | null): Promise<{ code: number; body: Record<string, unknown> }>;
}

export function operatorApi(gatewayUrl: string, apiKey: string): OperatorApi {
  const auth = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" };
  const created = async (r: Response, what: string) => {
    if (r.status !== 201) throw new Error(`${what}: HTTP ${r.status} ${await r.text()}`);
    return (await r.json()) as Record<string, unknown>;
  };
  return {
    apiKey,
    async createInterview(title = "test interview") {
      const r = await fetch(`${gatewayUrl}/interview-sessions`, { method: "POST", headers: auth, body: JSON.stringify({ title }) });
      return (await created(r, "create interview")).interview_session_id as number;
    },
    async mintToken(interviewSessionId, userId, opts = {}) {
      const body = { user_id: userId, ...(opts.sessionId ? { session_id: opts.sessionId } : {}), ...(opts.ttlS ? { ttl_s: opts.ttlS } : {}) };
      const r = await fetch(`${gatewayUrl}/interview-sessions/${interviewSessionId}/upload-tokens`, { method: "POST", headers: auth, body: JSON.stringify(body) });
      return (await created(r, "mint token")).token as string;
    },
    async status(sessionId, bearer = apiKey) {
      const r = await fetch(`${gatewayUrl}/sessions/${sessionId}/status`, bearer === null ? {} : { headers: { authorization: `Bearer ${bearer}` } });
      return { code: r.status, body: (await r.json()) as Record<string, unknown> };
    },
  };
}
