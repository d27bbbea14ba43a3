import { describe, expect, test } from 'bun:test';
import { decodeHeader, encodeHeader, HEADER_BYTES } from './wire.ts';

const SID = '0f8fad5b-d9cb-469f-a165-70867728950e';

describe('wire header', () => {
  test('encodes session id, kind byte and big-endian index', () => {
    const h = encodeHeader(SID, 'audio', 258);
    expect(h.length).toBe(HEADER_BYTES);
    expect(new TextDecoder().decode(h.subarray(0, 36))).toBe(SID);
    expect(h[36]).toBe(0x61);
    expect([...h.subarray(37)]).toEqual([0, 0, 1, 2]);
    expect(encodeHeader(SID, 'frame', 0xffffffff)[36]).toBe(0x66);
    expect([...encodeHeader(SID, 'frame', 0xffffffff).subarray(37)]).toEqual([255, 255, 255, 255]);
  });

  test('round-trips', () => {
    expect(decodeHeader(encodeHeader(SID, 'frame', 7))).toEqual({ sessionId: SID, kind: 'frame', index: 7 });
  });

  test('rejects bad input', () => {
    expect(() => encodeHeader(SID.toUpperCase(), 'audio', 1)).toThrow();
    expect(() => encodeHeader('test-123', 'audio', 1)).toThrow();
    expect(() => encodeHeader(SID, 'audio', -1)).toThrow();
    expect(() => encodeHeader(SID, 'audio', 1.5)).toThrow();
    expect(() => decodeHeader(new Uint8Array(40))).toThrow();
  });
});

describe('compatibility with the gateway codec (proto/wire)', () => {
  test('same header bytes as encodeBinaryFrame', async () => {
    const { encodeBinaryFrame } = await import('../../../proto/wire/binary-frame.ts');
    for (const [kind, index] of [['audio', 0], ['frame', 123456], ['audio', 0xffffffff]] as const) {
      const theirs = encodeBinaryFrame(SID, kind, index, new Uint8Array([9, 8, 7]));
      expect([...encodeHeader(SID, kind, index)]).toEqual([...theirs.subarray(0, HEADER_BYTES)]);
    }
  });
});
