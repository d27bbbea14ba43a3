import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { AnalysisError } from './errors.ts';
import { demuxWebmAudio } from './webm-demux.ts';

// A tiny EBML writer, so each layout under test is spelled out byte for byte.
type Bytes = Uint8Array;
const cat = (...parts: Bytes[]): Bytes => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};
const idBytes = (id: number): Bytes => {
  const b: number[] = [];
  for (let v = id; v > 0; v = Math.floor(v / 256)) b.unshift(v & 0xff);
  return Uint8Array.from(b);
};
/** A size as an 8-byte vint (always valid, easy to read in a hex dump). */
const size8 = (n: number): Bytes => {
  const b = new Uint8Array(8);
  let v = n;
  for (let i = 7; i >= 1; i--) { b[i] = v & 0xff; v = Math.floor(v / 256); }
  b[0] = 0x01;
  return b;
};
const UNKNOWN_SIZE = Uint8Array.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const el = (id: number, ...payload: Bytes[]): Bytes => { const p = cat(...payload); return cat(idBytes(id), size8(p.length), p); };
const elUnknown = (id: number, ...payload: Bytes[]): Bytes => cat(idBytes(id), UNKNOWN_SIZE, ...payload);
const uint = (id: number, v: number, len = 4): Bytes => {
  const b = new Uint8Array(len);
  for (let i = len - 1, x = v; i >= 0; i--, x = Math.floor(x / 256)) b[i] = x & 0xff;
  return el(id, b);
};
const str = (id: number, s: string): Bytes => el(id, new TextEncoder().encode(s));
const f64 = (id: number, v: number): Bytes => { const b = new Uint8Array(8); new DataView(b.buffer).setFloat64(0, v); return el(id, b); };
const i16 = (v: number): Bytes => Uint8Array.from([(v >> 8) & 0xff, v & 0xff]);

const OPUS_HEAD = Uint8Array.from([0x4f, 0x70, 0x75, 0x73, 0x48, 0x65, 0x61, 0x64, 1, 1, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0]);
const ebmlHeader = (docType = 'webm') => el(0x1a45dfa3, uint(0x4286, 1, 1), str(0x4282, docType), uint(0x4287, 4, 1));
const info = (durationMs?: number) => el(0x1549a966, uint(0x2ad7b1, 1_000_000), ...(durationMs === undefined ? [] : [f64(0x4489, durationMs)]));
const track = (n: number, type: number, codec: string, extra: Bytes[] = []) =>
  el(0xae, uint(0xd7, n, 1), uint(0x83, type, 1), str(0x86, codec), ...extra);
const opusTrack = (n = 1) => track(n, 2, 'A_OPUS', [el(0x63a2, OPUS_HEAD), uint(0x56aa, 6_500_000), el(0xe1, uint(0x9f, 1, 1), f64(0xb5, 48000))]);
const tracks = (...entries: Bytes[]) => el(0x1654ae6b, ...entries);
const simpleBlock = (trackNo: number, rel: number, frame: Bytes, flags = 0x80) => el(0xa3, Uint8Array.from([0x80 | trackNo]), i16(rel), Uint8Array.from([flags]), frame);
const frame = (tag: number, len = 5) => new Uint8Array(len).fill(tag);

/** The layout Chromium's MediaRecorder writes with a timeslice: unknown-size Segment and Clusters. */
function chromiumLike(): Bytes {
  return cat(
    ebmlHeader(),
    elUnknown(0x18538067,
      info(),
      tracks(opusTrack()),
      elUnknown(0x1f43b675, uint(0xe7, 0, 1), simpleBlock(1, 0, frame(1)), simpleBlock(1, 60, frame(2))),
      elUnknown(0x1f43b675, uint(0xe7, 120, 2), simpleBlock(1, 0, frame(3)), el(0xec, new Uint8Array(3)), simpleBlock(1, 60, frame(4))),
    ),
  );
}

function codes(fn: () => unknown): string {
  try { fn(); return 'ok'; } catch (e) {
    if (e instanceof AnalysisError) return e.code;
    throw e;
  }
}

describe('demuxWebmAudio', () => {
  test('Chromium layout: unknown-size Segment and Clusters, SimpleBlocks, in order with timestamps', () => {
    const r = demuxWebmAudio(chromiumLike());
    expect(r.docType).toBe('webm');
    expect(r.durationNs).toBeNull();
    expect(r.track).toMatchObject({ number: 1, type: 2, codecId: 'A_OPUS', codecDelayNs: 6_500_000, channels: 1, samplingFrequencyHz: 48000 });
    expect([...r.track.codecPrivate!]).toEqual([...OPUS_HEAD]);
    expect(r.packets.map((p) => [p.timestampNs / 1e6, p.data[0], p.data.length])).toEqual([[0, 1, 5], [60, 2, 5], [120, 3, 5], [180, 4, 5]]);
  });

  test('known sizes, SeekHead/Cues/Void skipped, BlockGroup with DiscardPadding, negative relative timestamps', () => {
    const bytes = cat(
      ebmlHeader(),
      el(0x18538067,
        el(0x114d9b74, new Uint8Array(10)),
        info(200),
        el(0xec, new Uint8Array(4)),
        tracks(opusTrack()),
        el(0x1f43b675, uint(0xe7, 100, 2),
          simpleBlock(1, -100, frame(7)),
          el(0xa0, el(0xa1, Uint8Array.from([0x81]), i16(20), Uint8Array.from([0]), frame(8)), el(0x75a2, Uint8Array.from([0x00, 0xce, 0x04, 0x18]))),
        ),
        el(0x1c53bb6b, new Uint8Array(6)),
      ),
    );
    const r = demuxWebmAudio(bytes);
    expect(r.durationNs).toBe(200_000_000);
    expect(r.packets.map((p) => [p.timestampNs / 1e6, p.data[0], p.discardPaddingNs])).toEqual([[0, 7, 0], [120, 8, 13_501_464]]);
  });

  test('only the Opus track\'s blocks, when a video track comes first', () => {
    const bytes = cat(ebmlHeader(), elUnknown(0x18538067,
      tracks(track(1, 1, 'V_VP8'), opusTrack(2)),
      elUnknown(0x1f43b675, uint(0xe7, 0, 1), simpleBlock(1, 0, frame(9)), simpleBlock(2, 0, frame(1)), simpleBlock(1, 33, frame(9)), simpleBlock(2, 20, frame(2))),
    ));
    expect(demuxWebmAudio(bytes).packets.map((p) => p.data[0])).toEqual([1, 2]);
  });

  test('laced blocks: Xiph, EBML and fixed lacing are split into frames', () => {
    const a = frame(1, 300), b = frame(2, 7), c = frame(3, 4);
    const xiph = cat(Uint8Array.from([2, 255, 45, 7]), a, b, c); // 300 = 255 + 45
    // EBML: count-1, first size 300 as a 2-byte vint (0x412C), then 7 - 300 = -293 as a signed 2-byte vint (raw = -293 + 8191).
    const ebml = cat(Uint8Array.from([2, 0x41, 0x2c, 0x40 | ((8191 - 293) >> 8), (8191 - 293) & 0xff]), a, b, c);
    const fixed = cat(Uint8Array.from([2]), frame(4, 6), frame(5, 6), frame(6, 6));
    for (const [flags, payload, want] of [[0x82, xiph, [[1, 300], [2, 7], [3, 4]]], [0x86, ebml, [[1, 300], [2, 7], [3, 4]]], [0x84, fixed, [[4, 6], [5, 6], [6, 6]]]] as const) {
      const bytes = cat(ebmlHeader(), elUnknown(0x18538067, tracks(opusTrack()), elUnknown(0x1f43b675, uint(0xe7, 0, 1), simpleBlock(1, 0, payload, flags))));
      expect(demuxWebmAudio(bytes).packets.map((p) => [p.data[0], p.data.length])).toEqual(want.map((w) => [...w]));
    }
  });

  test('what it refuses, and with which code', () => {
    expect(codes(() => demuxWebmAudio(new Uint8Array(0)))).toBe('UNSUPPORTED_MEDIA_TYPE');
    const mp4 = cat(Uint8Array.from([0, 0, 0, 0x18]), new TextEncoder().encode('ftypM4A '), new Uint8Array(12));
    expect(codes(() => demuxWebmAudio(mp4))).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(codes(() => demuxWebmAudio(cat(ebmlHeader('mkvfoo'), elUnknown(0x18538067))))).toBe('UNSUPPORTED_MEDIA_TYPE');
    const vorbis = cat(ebmlHeader(), elUnknown(0x18538067, tracks(track(1, 2, 'A_VORBIS'))));
    expect(codes(() => demuxWebmAudio(vorbis))).toBe('UNSUPPORTED_MEDIA_TYPE');
    const videoOnly = cat(ebmlHeader(), elUnknown(0x18538067, tracks(track(1, 1, 'V_VP8'))));
    expect(codes(() => demuxWebmAudio(videoOnly))).toBe('MEDIA_MALFORMED');
    expect(codes(() => demuxWebmAudio(ebmlHeader()))).toBe('MEDIA_TRUNCATED');
    // A child that claims more bytes than its parent holds, with bytes left in the file.
    const overrun = cat(ebmlHeader(), el(0x18538067, cat(idBytes(0x1549a966), size8(50), new Uint8Array(4))), new Uint8Array(60));
    expect(codes(() => demuxWebmAudio(overrun))).toBe('MEDIA_MALFORMED');
    // A zero byte where a variable-length integer starts.
    expect(codes(() => demuxWebmAudio(cat(ebmlHeader(), Uint8Array.from([0x18, 0x53, 0x80, 0x67, 0x00]))))).toBe('MEDIA_MALFORMED');
  });

  test('a known-size file cut at any byte is MEDIA_TRUNCATED with a message naming the byte', () => {
    const full = cat(ebmlHeader(), el(0x18538067, info(120), tracks(opusTrack()), el(0x1f43b675, uint(0xe7, 0, 1), simpleBlock(1, 0, frame(1)), simpleBlock(1, 60, frame(2)))));
    expect(demuxWebmAudio(full).packets).toHaveLength(2);
    for (let n = 4; n < full.length; n++) {
      let err: unknown;
      try { demuxWebmAudio(full.subarray(0, n)); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(AnalysisError);
      expect((err as AnalysisError).code).toBe('MEDIA_TRUNCATED');
      expect((err as AnalysisError).message).toMatch(/truncated|ends before/);
    }
  });

  test('an unknown-size file cut inside a block is MEDIA_TRUNCATED; cut between blocks it keeps the whole ones', () => {
    const full = chromiumLike();
    const outcomes = new Set<string>();
    for (let n = 4; n < full.length; n++) {
      try {
        const r = demuxWebmAudio(full.subarray(0, n));
        expect(r.packets.length).toBeLessThan(4);
        for (const p of r.packets) expect(p.data.length).toBe(5);
        outcomes.add('prefix');
      } catch (e) {
        expect(e).toBeInstanceOf(AnalysisError);
        outcomes.add((e as AnalysisError).code);
      }
    }
    expect(outcomes).toEqual(new Set(['MEDIA_TRUNCATED', 'prefix']));
  });

  test('garbage never escapes as anything but an AnalysisError, and never hangs', () => {
    const base = chromiumLike();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), (tail, flips) => {
        const random = cat(Uint8Array.from([0x1a, 0x45, 0xdf, 0xa3]), tail);
        const mutated = base.slice();
        for (const [i, v] of flips) mutated[i] = v;
        for (const input of [random, mutated]) {
          try { demuxWebmAudio(input); } catch (e) { if (!(e instanceof AnalysisError)) throw e; }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
