import { describe, expect, test } from 'bun:test';
import { eraseInterview, getAnalysis, listInterviews, mintReviewerToken, proxyToGateway, reviewConfig, verifySession } from './review-api.server.ts';

const KEY = 'k'.repeat(43);
const TOKEN = 'eyJh.eyJi.sig';
const cfg = { gatewayUrl: 'http://gw:8000', apiKey: KEY, local: true };

type Call = { url: string; method: string; auth: string | null; range: string | null; body: unknown };
function fake(answer: (url: string, init: RequestInit) => Response) {
  const calls: Call[] = [];
  const f = (async (url: string, init: RequestInit) => {
    const h = new Headers(init.headers);
    calls.push({ url, method: init.method ?? 'GET', auth: h.get('authorization'), range: h.get('range'), body: init.body ? JSON.parse(String(init.body)) : undefined });
    return answer(url, init);
  }) as unknown as typeof fetch;
  return { f, calls };
}
const json = (v: unknown, status = 200, headers: Record<string, string> = {}) => new Response(JSON.stringify(v), { status, headers: { 'content-type': 'application/json', ...headers } });

describe('reviewConfig', () => {
  test('local mode needs CANDID_REVIEW_LOCAL=1 and a key', () => {
    expect(reviewConfig({ CANDID_API_KEY: KEY, CANDID_REVIEW_LOCAL: '1' })).toEqual({ gatewayUrl: 'http://127.0.0.1:8000', apiKey: KEY, local: true });
    expect(reviewConfig({ CANDID_REVIEW_LOCAL: '1' }).local).toBe(false);
    expect(reviewConfig({ CANDID_API_KEY: KEY }).local).toBe(false);
    expect(reviewConfig({ CANDID_API_KEY: KEY, CANDID_REVIEW_LOCAL: 'yes' }).local).toBe(false);
    expect(reviewConfig({ CANDID_GATEWAY_URL: 'http://g:1/' })).toEqual({ gatewayUrl: 'http://g:1', apiKey: null, local: false });
  });
});

describe('JSON calls', () => {
  test('the reviewer bearer reads; the API key mints and erases', async () => {
    const { f, calls } = fake((url) => {
      if (url.includes('/reviewer-tokens')) return json({ token: TOKEN, expires_at: '2030-01-01T00:00:00Z', interview_session_id: null }, 201);
      if (url.includes('/verify')) return json({ ok: true, chunks: 1, frames: 0, missing_chunks: [], missing_frames: [], mismatched: [] });
      if (url.endsWith('/interview-sessions/7')) return json({ erasure_id: 'e1', state: 'pending' }, 202);
      return json({ interview_sessions: [] });
    });
    await listInterviews(cfg, TOKEN, {}, f);
    await verifySession(cfg, TOKEN, 'sid', f);
    expect(await mintReviewerToken(cfg, { ttlS: 3600 }, f)).toEqual({ token: TOKEN, expires_at: '2030-01-01T00:00:00Z' });
    await mintReviewerToken(cfg, { ttlS: 60, interviewSessionId: 3 }, f);
    expect(await eraseInterview(cfg, 7, f)).toEqual({ erasure_id: 'e1', state: 'pending' });
    expect(calls).toEqual([
      { url: 'http://gw:8000/interview-sessions?limit=200', method: 'GET', auth: `Bearer ${TOKEN}`, range: null, body: undefined },
      { url: 'http://gw:8000/sessions/sid/verify', method: 'POST', auth: `Bearer ${TOKEN}`, range: null, body: undefined },
      { url: 'http://gw:8000/reviewer-tokens', method: 'POST', auth: `Bearer ${KEY}`, range: null, body: { ttl_s: 3600 } },
      { url: 'http://gw:8000/reviewer-tokens', method: 'POST', auth: `Bearer ${KEY}`, range: null, body: { ttl_s: 60, interview_session_id: 3 } },
      { url: 'http://gw:8000/interview-sessions/7', method: 'DELETE', auth: `Bearer ${KEY}`, range: null, body: undefined },
    ]);
  });

  test('refusals map to the page’s status with fixed texts; the gateway’s message is not passed on', async () => {
    const cases: Array<[number, string, number]> = [
      [401, 'TOKEN_EXPIRED', 401],
      [403, 'FORBIDDEN', 401],
      [404, 'SESSION_NOT_FOUND', 404],
      [409, 'LEGAL_HOLD', 409],
      [500, 'INTERNAL', 502],
    ];
    for (const [status, code, want] of cases) {
      const { f } = fake(() => json({ type: 'error', code, message: `detail ${TOKEN}` }, status));
      const e = (await listInterviews(cfg, TOKEN, {}, f).catch((x: unknown) => x)) as Error & { code: string; status: number };
      expect({ code: e.code, status: e.status }).toEqual({ code, status: want });
      expect(e.message).not.toContain('detail');
      expect(e.message).not.toContain(TOKEN);
    }
    const down = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch;
    await expect(listInterviews(cfg, TOKEN, {}, down)).rejects.toMatchObject({ code: 'GATEWAY_UNREACHABLE', status: 503 });
    const garbled = fake(() => new Response('not json', { status: 200 }));
    await expect(listInterviews(cfg, TOKEN, {}, garbled.f)).rejects.toMatchObject({ code: 'BAD_GATEWAY_ANSWER' });
  });

  test('no key: minting and erasing say so without calling the gateway', async () => {
    const { f, calls } = fake(() => json({}));
    await expect(mintReviewerToken({ ...cfg, apiKey: null }, { ttlS: 1 }, f)).rejects.toMatchObject({ code: 'NOT_CONFIGURED' });
    await expect(eraseInterview({ ...cfg, apiKey: null }, 1, f)).rejects.toMatchObject({ code: 'NOT_CONFIGURED' });
    expect(calls).toEqual([]);
  });
});

test('getAnalysis follows next and merges the pages', async () => {
  const page = (i: number, next: unknown) => ({ session_id: 's', timeline_start: null, chunks: [{ chunk_index: i }], frames: [{ frame_index: i }], capture_events: [], summary: {}, next });
  const { f, calls } = fake((url) => (url.includes('chunks_after') ? json(page(1, null)) : json(page(0, { chunks_after: 0, frames_after: 0, limit: 500 }))));
  const a = await getAnalysis(cfg, TOKEN, 'sid', f);
  expect(a.chunks.map((c) => c.chunk_index)).toEqual([0, 1]);
  expect(a.frames.map((c) => c.frame_index)).toEqual([0, 1]);
  expect(calls.map((c) => c.url)).toEqual(['http://gw:8000/sessions/sid/analysis?limit=500', 'http://gw:8000/sessions/sid/analysis?chunks_after=0&frames_after=0&limit=500']);
});

describe('proxyToGateway', () => {
  test('a range answer streams back with its status and range headers, Cache-Control private', async () => {
    const { f, calls } = fake(
      () =>
        new Response(new Uint8Array([1, 2, 3]), {
          status: 206,
          headers: { 'content-type': 'audio/ogg', 'content-range': 'bytes 10-12/100', 'content-length': '3', 'accept-ranges': 'bytes', 'set-cookie': 'a=b', 'cache-control': 'private' },
        }),
    );
    const res = await proxyToGateway(cfg, TOKEN, 'GET', '/sessions/s/audio', new Headers({ range: 'bytes=10-12', cookie: 'candid_review=x' }), f);
    expect(res.status).toBe(206);
    expect(Object.fromEntries(res.headers)).toMatchObject({ 'content-type': 'audio/ogg', 'content-range': 'bytes 10-12/100', 'accept-ranges': 'bytes', 'cache-control': 'private' });
    expect(res.headers.has('set-cookie')).toBe(false);
    expect([...new Uint8Array(await res.arrayBuffer())]).toEqual([1, 2, 3]);
    expect(calls[0]).toMatchObject({ url: 'http://gw:8000/sessions/s/audio', auth: `Bearer ${TOKEN}`, range: 'bytes=10-12' });
  });
  test('416 passes; a 404 gets a fixed body; an unreachable gateway is 503', async () => {
    const r416 = await proxyToGateway(cfg, TOKEN, 'GET', '/a', new Headers(), fake(() => new Response(null, { status: 416, headers: { 'content-range': 'bytes */100' } })).f);
    expect(r416.status).toBe(416);
    expect(r416.headers.get('content-range')).toBe('bytes */100');
    const r404 = await proxyToGateway(cfg, TOKEN, 'GET', '/a', new Headers(), fake(() => json({ code: 'SESSION_NOT_FOUND', message: 'secret' }, 404)).f);
    expect(r404.status).toBe(404);
    const body = await r404.text();
    expect(JSON.parse(body)).toMatchObject({ code: 'SESSION_NOT_FOUND' });
    expect(body).not.toContain('secret');
    const down = (async () => {
      throw new TypeError('x');
    }) as unknown as typeof fetch;
    expect((await proxyToGateway(cfg, TOKEN, 'GET', '/a', new Headers(), down)).status).toBe(503);
  });
});
