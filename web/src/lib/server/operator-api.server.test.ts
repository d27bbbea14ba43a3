import { describe, expect, test } from 'bun:test';
import { createInterviewGrant, DEMO_CANDIDATE_USER_ID, operatorConfig } from './operator-api.server.ts';

const KEY = 'k'.repeat(43);
const cfg = { gatewayUrl: 'http://gw:8000', apiKey: KEY };

describe('operatorConfig', () => {
  test('needs an API key; the gateway URL defaults to this machine’s port 8000', () => {
    expect(() => operatorConfig({})).toThrow(expect.objectContaining({ code: 'NOT_CONFIGURED', status: 503 }));
    expect(operatorConfig({ CANDID_API_KEY: KEY })).toEqual({ apiKey: KEY, gatewayUrl: 'http://127.0.0.1:8000' });
    expect(operatorConfig({ CANDID_API_KEY: KEY, CANDID_GATEWAY_URL: 'http://127.0.0.1:18000/' }).gatewayUrl).toBe('http://127.0.0.1:18000');
  });
  test('a blank key is no key; the error names the variable', () => {
    expect(() => operatorConfig({ CANDID_API_KEY: '  ' })).toThrow(/CANDID_API_KEY/);
  });
});

describe('createInterviewGrant', () => {
  test('creates an interview, then mints a token for the demo candidate, both with the key', async () => {
    const calls: Array<{ url: string; auth: string | null; body: unknown }> = [];
    const f = (async (url: string, init: RequestInit) => {
      calls.push({ url, auth: new Headers(init.headers).get('authorization'), body: JSON.parse(String(init.body)) });
      if (url.endsWith('/interview-sessions')) return new Response(JSON.stringify({ interview_session_id: 7 }), { status: 201 });
      return new Response(JSON.stringify({ token: 'eyJ.a.b', expires_at: '2030-01-01T00:00:00Z', interview_session_id: 7, user_id: 1 }), { status: 201 });
    }) as unknown as typeof fetch;
    const g = await createInterviewGrant(cfg, { title: 't' }, f);
    expect(g).toEqual({ interview_session_id: 7, user_id: DEMO_CANDIDATE_USER_ID, token: 'eyJ.a.b', expires_at: '2030-01-01T00:00:00Z' });
    expect(DEMO_CANDIDATE_USER_ID).toBe(1);
    expect(calls).toEqual([
      { url: 'http://gw:8000/interview-sessions', auth: `Bearer ${KEY}`, body: { title: 't' } },
      { url: 'http://gw:8000/interview-sessions/7/upload-tokens', auth: `Bearer ${KEY}`, body: { user_id: 1 } },
    ]);
    expect(JSON.stringify(g)).not.toContain(KEY);
  });

  test('failures: unreachable, refused (the gateway’s text is not passed on), a malformed answer', async () => {
    const down = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch;
    await expect(createInterviewGrant(cfg, { title: 't' }, down)).rejects.toMatchObject({ code: 'GATEWAY_UNREACHABLE', status: 503 });
    const refused = (async () => new Response(JSON.stringify({ code: 'API_KEY_INVALID', message: 'secret detail' }), { status: 401 })) as unknown as typeof fetch;
    const err = (await createInterviewGrant(cfg, { title: 't' }, refused).catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ code: 'API_KEY_INVALID', status: 502 });
    expect(err.message).not.toContain('secret detail');
    const noToken = (async (url: string) =>
      new Response(JSON.stringify(url.endsWith('/interview-sessions') ? { interview_session_id: 7 } : {}), { status: 201 })) as unknown as typeof fetch;
    await expect(createInterviewGrant(cfg, { title: 't' }, noToken)).rejects.toMatchObject({ code: 'BAD_GATEWAY_ANSWER' });
  });
});
