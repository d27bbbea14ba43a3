import { expect, test } from 'bun:test';
import { downstreamHeaders, indexParam, passStatus, sessionIdParam, upstreamHeaders } from './proxy.ts';

test('upstream: the bearer and Range go to the gateway; the browser’s cookies and other headers do not', () => {
  const h = upstreamHeaders(new Headers({ range: 'bytes=100-', cookie: 'candid_review=secret', authorization: 'Bearer forged', 'user-agent': 'x', 'if-range': '"e1"' }), 'TOKEN');
  expect(Object.fromEntries(h)).toEqual({ authorization: 'Bearer TOKEN', range: 'bytes=100-', 'if-range': '"e1"', 'accept-encoding': 'identity' });
});

test('downstream: range, length, type and disposition pass; Cache-Control is always private; the rest is dropped', () => {
  const h = downstreamHeaders(
    new Headers({
      'content-type': 'audio/ogg',
      'content-length': '1000',
      'content-range': 'bytes 0-999/5000',
      'accept-ranges': 'bytes',
      'content-disposition': 'attachment; filename="interview-7.zip"',
      'cache-control': 'public, max-age=600',
      'set-cookie': 'x=y',
      'access-control-allow-origin': '*',
      server: 'gw',
    }),
  );
  expect(Object.fromEntries(h)).toEqual({
    'content-type': 'audio/ogg',
    'content-length': '1000',
    'content-range': 'bytes 0-999/5000',
    'accept-ranges': 'bytes',
    'content-disposition': 'attachment; filename="interview-7.zip"',
    'cache-control': 'private',
    'x-content-type-options': 'nosniff',
  });
  expect(downstreamHeaders(new Headers({ 'cache-control': 'private, no-store' })).get('cache-control')).toBe('private, no-store');
  expect(downstreamHeaders(new Headers()).get('cache-control')).toBe('private');
  expect(downstreamHeaders(new Headers({ 'content-encoding': 'gzip', 'content-length': '10' })).has('content-length')).toBe(false);
});

test('statuses: media answers pass, refusals become 401, the rest 502', () => {
  for (const s of [200, 202, 206, 304, 404, 409, 416, 400]) expect(passStatus(s)).toBe(s);
  expect(passStatus(401)).toBe(401);
  expect(passStatus(403)).toBe(401);
  expect(passStatus(500)).toBe(502);
  expect(passStatus(503)).toBe(502);
});

test('path parameters are checked before they go into a gateway path', () => {
  expect(sessionIdParam('0F8FAD5B-D9CB-469F-A165-70867728950E')).toBe('0f8fad5b-d9cb-469f-a165-70867728950e');
  expect(sessionIdParam('../interview-sessions')).toBeNull();
  expect(sessionIdParam('0f8fad5b-d9cb-469f-a165-70867728950e/../x')).toBeNull();
  expect(indexParam('0')).toBe(0);
  expect(indexParam('42')).toBe(42);
  expect(indexParam('0', 1)).toBeNull();
  expect(indexParam('-1')).toBeNull();
  expect(indexParam('1e3')).toBeNull();
  expect(indexParam('99999999999999999')).toBeNull();
});
