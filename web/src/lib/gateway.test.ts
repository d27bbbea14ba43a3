import { describe, expect, test } from 'bun:test';
import { createInterviewSession, gatewayBaseUrl, intervalOverrides, mediaStreamUrl } from './gateway.ts';

describe('gateway urls', () => {
  test('env wins, trailing slash dropped', () => {
    expect(gatewayBaseUrl('http://10.0.0.2:9000/', { protocol: 'http:', hostname: 'x' })).toBe('http://10.0.0.2:9000');
  });
  test('defaults to port 8000 of the page host', () => {
    expect(gatewayBaseUrl(undefined, { protocol: 'https:', hostname: 'candid.example' })).toBe('https://candid.example:8000');
    expect(gatewayBaseUrl('  ', { protocol: 'http:', hostname: 'localhost' })).toBe('http://localhost:8000');
  });
  test('ws url', () => {
    expect(mediaStreamUrl('http://127.0.0.1:8000')).toBe('ws://127.0.0.1:8000/ws/media-stream');
    expect(mediaStreamUrl('https://a.b')).toBe('wss://a.b/ws/media-stream');
  });
  test('interval overrides', () => {
    expect(intervalOverrides(new URLSearchParams('chunkMs=2000&frameMs=500'))).toEqual({ audioChunkDuration: 2000, frameInterval: 500 });
    expect(intervalOverrides(new URLSearchParams('chunkMs=abc&frameMs=1'))).toEqual({ audioChunkDuration: undefined, frameInterval: undefined });
  });
});

describe('createInterviewSession', () => {
  test('returns the id', async () => {
    const f = (async (url: string, init: RequestInit) => {
      expect(url).toBe('http://g/interview-sessions');
      expect(JSON.parse(String(init.body))).toEqual({ title: 't' });
      return new Response(JSON.stringify({ interview_session_id: 42 }), { status: 201 });
    }) as unknown as typeof fetch;
    expect(await createInterviewSession('http://g', 't', f)).toBe(42);
  });
  test('maps failures', async () => {
    const down = (async () => { throw new TypeError('fetch failed'); }) as unknown as typeof fetch;
    await expect(createInterviewSession('http://g', 't', down)).rejects.toMatchObject({ code: 'UNREACHABLE' });
    const bad = (async () => new Response(JSON.stringify({ code: 'INTERNAL', message: 'x' }), { status: 500 })) as unknown as typeof fetch;
    await expect(createInterviewSession('http://g', 't', bad)).rejects.toMatchObject({ code: 'INTERNAL' });
  });
});
