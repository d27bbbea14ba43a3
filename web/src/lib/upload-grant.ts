/**
 * @module upload-grant
 * The browser's side of starting an interview: it asks the web app's own server
 * (`POST /api/interviews`, routes/api/interviews/+server.ts) for a new interview and an upload
 * token bound to it, and keeps that grant for the tab (sessionStorage, per interview) until the
 * recording's session record holds it (uploader.ts stores the token with the session in the
 * outbox store, so a reload or an orphan upload reuses it).
 *
 * The browser never sees an API key: the server holds it and answers only the grant.
 */

/** An upload token and what it is bound to, as the server route answers it. */
export interface UploadGrant {
  interview_session_id: number;
  user_id: number;
  token: string;
  /** ISO 8601 */
  expires_at: string;
}

export class GrantError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'GrantError';
  }
}

export function isUploadGrant(v: unknown): v is UploadGrant {
  const g = v as Partial<UploadGrant> | null;
  return (
    typeof g === 'object' &&
    g !== null &&
    Number.isInteger(g.interview_session_id) &&
    Number.isInteger(g.user_id) &&
    typeof g.token === 'string' &&
    g.token.length > 0 &&
    typeof g.expires_at === 'string'
  );
}

/** Asks the web app's server for a new interview and its upload token. */
export async function requestGrant(fetchImpl: typeof fetch = fetch, path = '/api/interviews'): Promise<UploadGrant> {
  let res: Response;
  try {
    res = await fetchImpl(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  } catch {
    throw new GrantError('UNREACHABLE', 'The interview server cannot be reached.');
  }
  const body = (await res.json().catch(() => ({}))) as unknown;
  if (!res.ok || !isUploadGrant(body)) {
    const b = body as { code?: unknown; message?: unknown };
    throw new GrantError(typeof b.code === 'string' ? b.code : `HTTP_${res.status}`, typeof b.message === 'string' ? b.message : `Starting the interview failed (HTTP ${res.status}).`);
  }
  return body;
}

export const grantKey = (interviewSessionId: number) => `candid:upload-grant:${interviewSessionId}`;

/** Keeps the grant for this tab, so the interview page (and a reload of it) finds it. */
export function saveGrant(storage: Pick<Storage, 'setItem'>, grant: UploadGrant): void {
  storage.setItem(grantKey(grant.interview_session_id), JSON.stringify(grant));
}

/** The grant this tab keeps for an interview, if any (and if it still parses). */
export function loadGrant(storage: Pick<Storage, 'getItem'>, interviewSessionId: number): UploadGrant | null {
  try {
    const g = JSON.parse(storage.getItem(grantKey(interviewSessionId)) ?? 'null') as unknown;
    return isUploadGrant(g) && g.interview_session_id === interviewSessionId ? g : null;
  } catch {
    return null;
  }
}
