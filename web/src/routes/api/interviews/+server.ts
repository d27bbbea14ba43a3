/**
 * POST /api/interviews — start a new interview for this browser: the server side creates an
 * interview on the gateway and mints an upload token for its candidate with the operator API key
 * (lib/server/operator-api.server.ts), and answers only the token and what it is bound to:
 * 201 {"interview_session_id", "user_id", "token", "expires_at"}.
 *
 * It takes no input: a browser cannot choose the interview, the candidate or the lifetime, so it
 * can never get a token for an interview that already exists (docs/security.md). Errors answer
 * {"code", "message"} with fixed texts; the key and the gateway's own messages never leave.
 */
import { json } from '@sveltejs/kit';
import { env } from '$env/dynamic/private';
import { createInterviewGrant, OperatorError, operatorConfig } from '$lib/server/operator-api.server.ts';
import type { RequestHandler } from './$types';

const noStore = { 'cache-control': 'no-store' };

export const POST: RequestHandler = async () => {
  try {
    const grant = await createInterviewGrant(operatorConfig(env), { title: `Interview ${new Date().toISOString()}` });
    return json(grant, { status: 201, headers: noStore });
  } catch (e) {
    if (e instanceof OperatorError) {
      console.error(JSON.stringify({ level: 'warn', service: 'web', msg: 'cannot start an interview', code: e.code }));
      return json({ code: e.code, message: e.message }, { status: e.status, headers: noStore });
    }
    console.error(JSON.stringify({ level: 'error', service: 'web', msg: 'cannot start an interview', code: 'INTERNAL' }));
    return json({ code: 'INTERNAL', message: 'Starting the interview failed.' }, { status: 500, headers: noStore });
  }
};
