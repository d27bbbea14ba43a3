import { describe, expect, test } from 'bun:test';
import { isLocalRequest, sameHost, isLoopbackAddress, landingPath, LOCAL_TOKEN_TTL_S, looksLikeToken, REVIEW_COOKIE_PATH, reviewCookieOptions, tokenClaims } from './access.ts';

const b64u = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (claims: Record<string, unknown>) => `${b64u({ alg: 'HS256', typ: 'JWT' })}.${b64u(claims)}.c2ln`;

describe('tokenClaims', () => {
  test('scope and expiry of a reviewer token', () => {
    expect(tokenClaims(jwt({ role: 'reviewer', interview_session_id: 7, exp: 2_000_000_000 }))).toEqual({ interviewSessionId: 7, expMs: 2_000_000_000_000 });
    expect(tokenClaims(jwt({ role: 'reviewer', exp: 2_000_000_000 }))).toEqual({ interviewSessionId: null, expMs: 2_000_000_000_000 });
    expect(tokenClaims(jwt({ interview_session_id: '7' }))).toEqual({ interviewSessionId: null, expMs: null });
  });
  test('not a JWT: null', () => {
    expect(tokenClaims('abc')).toBeNull();
    expect(tokenClaims('a.!!.c')).toBeNull();
    expect(tokenClaims('a.bm90IGpzb24.c')).toBeNull();
  });
});

test('looksLikeToken only passes compact JWT shapes of a sane length', () => {
  expect(looksLikeToken(jwt({}))).toBe(true);
  expect(looksLikeToken(null)).toBe(false);
  expect(looksLikeToken('a.b')).toBe(false);
  expect(looksLikeToken('a.b.c\nSet-Cookie: x')).toBe(false);
  expect(looksLikeToken(`a.${'b'.repeat(5000)}.c`)).toBe(false);
});

test('landingPath: a token for one interview lands on it, otherwise on the list', () => {
  expect(landingPath(jwt({ interview_session_id: 12 }))).toBe('/review/12');
  expect(landingPath(jwt({}))).toBe('/review');
  expect(landingPath('garbage')).toBe('/review');
});

describe('reviewCookieOptions', () => {
  const now = 1_900_000_000_000;
  test('HttpOnly, SameSite=Strict, Path=/review; Secure only over https', () => {
    const t = jwt({ exp: now / 1000 + 600 });
    expect(reviewCookieOptions(new URL('http://127.0.0.1:5173/review/login'), t, now)).toEqual({ path: REVIEW_COOKIE_PATH, httpOnly: true, sameSite: 'strict', secure: false, maxAge: 600 });
    expect(reviewCookieOptions(new URL('https://candid.example/review/login'), t, now).secure).toBe(true);
    expect(REVIEW_COOKIE_PATH).toBe('/review');
  });
  test('it lasts as long as the token, at most a day, at least a second', () => {
    expect(reviewCookieOptions(new URL('http://x/'), jwt({ exp: now / 1000 + 10 * 86_400 }), now).maxAge).toBe(86_400);
    expect(reviewCookieOptions(new URL('http://x/'), jwt({ exp: now / 1000 - 5 }), now).maxAge).toBe(1);
    expect(reviewCookieOptions(new URL('http://x/'), jwt({}), now).maxAge).toBe(LOCAL_TOKEN_TTL_S);
  });
});

describe('local mode’s gate', () => {
  test('loopback addresses', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(a)).toBe(true);
    for (const a of ['10.0.0.2', '192.168.1.5', '::ffff:10.0.0.1', 'fe80::1', '', '1127.0.0.1']) expect(isLoopbackAddress(a)).toBe(false);
  });
  test('a loopback client that addressed this machine by a loopback name', () => {
    expect(isLocalRequest('127.0.0.1', new URL('http://localhost:5173/review'))).toBe(true);
    expect(isLocalRequest('::1', new URL('http://[::1]:5173/review'))).toBe(true);
    expect(isLocalRequest('127.0.0.1', new URL('http://127.0.0.1:5173/'))).toBe(true);
  });
  test('not from another machine, not under another host name (DNS rebinding)', () => {
    expect(isLocalRequest('192.168.1.5', new URL('http://localhost:5173/review'))).toBe(false);
    expect(isLocalRequest('127.0.0.1', new URL('http://attacker.example:5173/review'))).toBe(false);
    expect(isLocalRequest('127.0.0.1', new URL('http://192.168.1.2:5173/review'))).toBe(false);
  });
});

test('sameHost: the Origin names the host and port the request went to (the scheme is not compared)', () => {
  const url = new URL('https://127.0.0.1:5173/review/7/erase');
  expect(sameHost('http://127.0.0.1:5173', url)).toBe(true);
  expect(sameHost('http://127.0.0.1:5174', url)).toBe(false);
  expect(sameHost('http://localhost:5173', url)).toBe(false);
  expect(sameHost('https://evil.example', url)).toBe(false);
  expect(sameHost(null, url)).toBe(false);
  expect(sameHost('null', url)).toBe(false);
});
