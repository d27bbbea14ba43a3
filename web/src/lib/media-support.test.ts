import { describe, expect, test } from 'bun:test';
import { classifyMediaError, extensionFor, levelFromSamples, pickAudioMimeType } from './media-support.ts';

describe('pickAudioMimeType', () => {
  test('prefers WebM/Opus', () => {
    expect(pickAudioMimeType(() => true)).toBe('audio/webm;codecs=opus');
  });
  test('falls back to MP4 for Safari', () => {
    expect(pickAudioMimeType((t) => t.startsWith('audio/mp4'))).toBe('audio/mp4;codecs=mp4a.40.2');
    expect(pickAudioMimeType((t) => t === 'audio/mp4')).toBe('audio/mp4');
  });
  test('undefined when nothing works, even if the probe throws', () => {
    expect(pickAudioMimeType(() => false)).toBeUndefined();
    expect(pickAudioMimeType(() => { throw new Error('x'); })).toBeUndefined();
  });
  test('extension', () => {
    expect(extensionFor('audio/mp4')).toBe('mp4');
    expect(extensionFor('audio/webm;codecs=opus')).toBe('webm');
  });
});

describe('classifyMediaError', () => {
  test('maps DOMException names', () => {
    expect(classifyMediaError({ name: 'NotAllowedError' })).toBe('permission-denied');
    expect(classifyMediaError({ name: 'NotFoundError' })).toBe('no-device');
    expect(classifyMediaError({ name: 'NotReadableError' })).toBe('device-busy');
    expect(classifyMediaError(new Error('x'))).toBe('unknown');
    expect(classifyMediaError(null)).toBe('unknown');
  });
});

describe('levelFromSamples', () => {
  test('silence is 0, full scale is 1, -30 dBFS is half', () => {
    expect(levelFromSamples(new Float32Array(128))).toBe(0);
    expect(levelFromSamples(new Float32Array(128).fill(1))).toBe(1);
    expect(levelFromSamples(new Float32Array(128).fill(10 ** (-30 / 20)))).toBeCloseTo(0.5, 5);
  });
});
