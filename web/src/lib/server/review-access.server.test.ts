import { describe, expect, mock, test } from 'bun:test';

// The settings module reads SvelteKit's $env, which bun does not have; these tests pass settings in.
mock.module('$env/dynamic/private', () => ({ env: {} }));
const { localMode, withReviewer } = await import('./review-access.server.ts');
const { ReviewError } = await import('./review-api.server.ts');

const KEY = 'k'.repeat(43);
const local = { gatewayUrl: 'http://gw', apiKey: KEY, local: true };
const remote = { ...local, local: false };
const b64u = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (n: number) => `${b64u({ alg: 'HS256' })}.${b64u({ role: 'reviewer', n, exp: Math.floor(Date.now() / 1000) + 600 })}.sig`;

function event(opts: { cookie?: string; addr?: string; url?: string } = {}) {
  const jar = new Map<string, string>(opts.cookie ? [['candid_review', opts.cookie]] : []);
  const log: string[] = [];
  return {
    log,
    jar,
    url: new URL(opts.url ?? 'http://127.0.0.1:5173/review'),
    getClientAddress: () => opts.addr ?? '127.0.0.1',
    cookies: {
      get: (n: string) => jar.get(n),
      set: (n: string, v: string, o: { path: string; httpOnly: boolean }) => {
        jar.set(n, v);
        log.push(`set ${n} path=${o.path} httpOnly=${o.httpOnly}`);
      },
      delete: (n: string, o: { path: string }) => {
        jar.delete(n);
        log.push(`delete ${n} path=${o.path}`);
      },
    },
  } as unknown as Parameters<typeof withReviewer>[0] & { log: string[]; jar: Map<string, string> };
}

function minter() {
  let n = 0;
  const f = (async () => new Response(JSON.stringify({ token: jwt(++n), expires_at: '2030-01-01T00:00:00Z' }), { status: 201 })) as unknown as typeof fetch;
  return { f, count: () => n };
}

const refused = () => new ReviewError('TOKEN_EXPIRED', 401, 'refused');

describe('withReviewer', () => {
  test('the cookie’s token is used as it is', async () => {
    const m = minter();
    const t = jwt(99);
    expect(await withReviewer(event({ cookie: t }), async (x) => x, remote, m.f)).toBe(t);
    expect(m.count()).toBe(0);
  });

  test('no cookie and not local: 401 NO_ACCESS, nothing minted', async () => {
    const m = minter();
    await expect(withReviewer(event(), async (x) => x, remote, m.f)).rejects.toMatchObject({ code: 'NO_ACCESS', status: 401 });
    await expect(withReviewer(event({ addr: '10.0.0.5' }), async (x) => x, local, m.f)).rejects.toMatchObject({ code: 'NO_ACCESS' });
    await expect(withReviewer(event({ url: 'http://attacker.example:5173/review' }), async (x) => x, local, m.f)).rejects.toMatchObject({ code: 'NO_ACCESS' });
    expect(m.count()).toBe(0);
  });

  test('local: a token is minted and kept in the HttpOnly cookie on /review', async () => {
    const m = minter();
    const e = event();
    const t = await withReviewer(e, async (x) => x, local, m.f);
    expect(t).toBe(jwt(1));
    expect(e.jar.get('candid_review')).toBe(t);
    expect(e.log).toEqual(['set candid_review path=/review httpOnly=true']);
  });

  test('a refused cookie token: removed; local mints a new one and retries once', async () => {
    const m = minter();
    const e = event({ cookie: jwt(50) });
    const seen: string[] = [];
    const t = await withReviewer(
      e,
      async (x) => {
        seen.push(x);
        if (seen.length === 1) throw refused();
        return x;
      },
      local,
      m.f,
    );
    expect(seen).toEqual([jwt(50), jwt(1)]);
    expect(t).toBe(jwt(1));
    expect(e.log).toEqual(['delete candid_review path=/review', 'set candid_review path=/review httpOnly=true']);
  });

  test('refused again after a fresh mint, or not local: the 401 stands and the cookie is gone', async () => {
    const m = minter();
    const e = event();
    await expect(withReviewer(e, async () => Promise.reject(refused()), local, m.f)).rejects.toMatchObject({ status: 401 });
    expect(m.count()).toBe(1);
    const r = event({ cookie: jwt(7) });
    await expect(withReviewer(r, async () => Promise.reject(refused()), remote, m.f)).rejects.toMatchObject({ status: 401 });
    expect(r.jar.has('candid_review')).toBe(false);
  });

  test('other errors pass through and keep the cookie', async () => {
    const e = event({ cookie: jwt(7) });
    await expect(withReviewer(e, async () => Promise.reject(new ReviewError('SESSION_NOT_FOUND', 404, 'nf')), remote, minter().f)).rejects.toMatchObject({ status: 404 });
    expect(e.jar.has('candid_review')).toBe(true);
  });

  test('a cookie that is no JWT is ignored', async () => {
    await expect(withReviewer(event({ cookie: 'garbage' }), async (x) => x, remote, minter().f)).rejects.toMatchObject({ code: 'NO_ACCESS' });
  });
});

test('localMode needs the setting and a local request', () => {
  expect(localMode(event(), local)).toBe(true);
  expect(localMode(event(), remote)).toBe(false);
  expect(localMode(event({ addr: '192.168.0.2' }), local)).toBe(false);
});
