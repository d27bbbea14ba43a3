import { describe, expect, test } from 'bun:test';
import { gatewayBaseUrl, intervalOverrides, mediaStreamUrl } from './gateway.ts';

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
