import { describe, expect, test } from "bun:test";
import { alignByCorrelation, STITCH_RATE, stitch, type StitchChunk } from "./stitch";

const R = STITCH_RATE;
/** A signal every instant of which is unique: seeded noise through a gentle low-pass. */
function signal(seconds: number, seed = 1): Float32Array {
  const out = new Float32Array(Math.round(seconds * R));
  let x = seed;
  let y = 0;
  for (let i = 0; i < out.length; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    y = 0.7 * y + 0.3 * (x / 1073741824 - 1);
    out[i] = 0.5 * y;
  }
  return out;
}

/** Low-passed white noise from xorshift32 (integer exact, so it never falls into a short cycle). */
function aperiodic(seconds: number, seed = 0x9e3779b9): Float32Array {
  const out = new Float32Array(Math.round(seconds * R));
  let x = seed >>> 0 || 1;
  let y = 0;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    y = 0.7 * y + 0.3 * (x / 2147483648 - 1);
    out[i] = 0.5 * y;
  }
  return out;
}

const T0 = 1_700_000_000_000;
/** Chunk k of `src`: [10k − overlap, 10(k+1)] s, its recorded start off by jitter ms. */
function cut(src: Float32Array, k: number, overlapMs = 120, jitterMs = 0): StitchChunk {
  const from = k === 0 ? 0 : Math.round((k * 10 - overlapMs / 1000) * R);
  const to = Math.min(src.length, (k + 1) * 10 * R);
  return { chunkIndex: k, startMs: T0 + Math.round((from / R) * 1000) + jitterMs, endMs: T0 + (to / R) * 1000, pcm: src.slice(from, to) };
}

/** Max |a − b| over the first n samples. */
function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe("stitch", () => {
  test("overlapping chunks become the recording itself, sample for sample, the overlap once", () => {
    const src = signal(30);
    const r = stitch([cut(src, 0), cut(src, 1), cut(src, 2)], { first: 0, last: 2 });
    expect(r.pcm.length).toBe(src.length);
    expect(maxDiff(r.pcm, src)).toBeLessThan(1e-6);
    expect(r.timeline.gaps).toEqual([]);
    expect(r.timeline.chunks.map((c) => c.chunkIndex)).toEqual([0, 1, 2]);
    expect(r.timeline.chunks[1]!.startMs).toBe(r.timeline.chunks[0]!.endMs);
    expect(r.alignments.every((a) => a.by === "correlation")).toBe(true);
  });

  test("timestamps off by ±30 ms: the correlation finds the true place", () => {
    const src = signal(30, 7);
    const r = stitch([cut(src, 0), cut(src, 1, 120, 30), cut(src, 2, 120, -30)], { first: 0, last: 2 });
    // Each place is found relative to the previous chunk: 2 was recorded 60 ms early relative to 1.
    expect(r.alignments.map((a) => a.correctionMs)).toEqual([-30, 60]);
    expect(r.pcm.length).toBe(src.length);
    expect(maxDiff(r.pcm, src)).toBeLessThan(1e-6);
  });

  test("chunks given in any order; a single chunk is itself", () => {
    const src = signal(30, 3);
    expect(maxDiff(stitch([cut(src, 2), cut(src, 0), cut(src, 1)], { first: 0, last: 2 }).pcm, src)).toBeLessThan(1e-6);
    const one = stitch([cut(src, 0)], { first: 0, last: 0 });
    expect(one.pcm.length).toBe(10 * R);
    expect(one.timeline).toEqual({ durationMs: 10_000, chunks: [{ chunkIndex: 0, startMs: 0, endMs: 10_000 }], gaps: [] });
  });

  test("a missing chunk is silence of its length, listed as a gap; the next chunk plays at its own time", () => {
    const src = signal(30, 5);
    const r = stitch([cut(src, 0), cut(src, 2)], { first: 0, last: 2 });
    expect(r.timeline.gaps).toEqual([{ startMs: 10_000, endMs: 19_880, missingChunks: [1] }]);
    expect(r.pcm.length).toBe(src.length);
    expect(maxDiff(r.pcm.subarray(0, 10 * R), src.subarray(0, 10 * R))).toBeLessThan(1e-6);
    expect(maxDiff(r.pcm.subarray(10 * R, 19.88 * R), new Float32Array(9.88 * R))).toBe(0);
    expect(maxDiff(r.pcm.subarray(20 * R), src.subarray(20 * R))).toBeLessThan(1e-6);
  });

  test("missing chunks before the first and after the last are listed (zero-length gaps at the ends)", () => {
    const src = signal(30, 9);
    const r = stitch([cut(src, 1)], { first: 0, last: 2 });
    expect(r.timeline.gaps).toEqual([
      { startMs: 0, endMs: 0, missingChunks: [0] },
      { startMs: 10_120, endMs: 10_120, missingChunks: [2] },
    ]);
  });

  test("silence cannot be correlated: the timestamps place it", () => {
    const silent = new Float32Array(30 * R);
    const r = stitch([cut(silent, 0), cut(silent, 1, 120, 10)], { first: 0, last: 1 });
    expect(r.alignments).toEqual([{ chunkIndex: 1, by: "timestamps", correctionMs: 0 }]);
    expect(r.timeline.durationMs).toBe(20_010);
  });

  test("a first chunk with a warm-up (quiet opening) and a tone: aligned all the same", () => {
    const src = signal(20, 11);
    for (let i = 0; i < 0.3 * R; i++) src[i]! *= i / (0.3 * R);
    const r = stitch([cut(src, 0), cut(src, 1)], { first: 0, last: 1 });
    expect(maxDiff(r.pcm, src)).toBeLessThan(1e-6);
    // A pure tone is periodic: one period off scores almost as well, and a near-tie must not win.
    const tone = new Float32Array(20 * R).map((_, i) => 0.5 * Math.sin((2 * Math.PI * (1000 + i / 960) * i) / R));
    const t = stitch([cut(tone, 0), cut(tone, 1, 120, 12)], { first: 0, last: 1 });
    expect(t.alignments[0]!.correctionMs).toBe(-12);
  });

  test("a short real overlap (the stopped recorder dropped its last 60 ms frame) is still found by correlation", () => {
    // A stopped MediaRecorder loses its unfinished Opus frame (web/src/lib/audio-chunker.ts), and
    // end = start + decoded duration, so chunk k's audio ends up to 60 ms before its stop: the two
    // chunks share only ~60 ms, less than the 15 + 80 ms opening of b that is matched by default.
    const src = aperiodic(30);
    const short = (k: number, jitterMs: number): StitchChunk => {
      const c = cut(src, k, 120, jitterMs);
      const drop = k < 2 ? Math.round(0.06 * R) : 0;
      return { ...c, endMs: c.endMs - 60, pcm: c.pcm.slice(0, c.pcm.length - drop) };
    };
    const r = stitch([short(0, 0), short(1, 20), short(2, -20)], { first: 0, last: 2 });
    expect(r.alignments.map((a) => a.by)).toEqual(["correlation", "correlation"]);
    expect(r.alignments.map((a) => a.correctionMs)).toEqual([-20, 40]);
    expect(r.pcm.length).toBe(src.length);
    expect(maxDiff(r.pcm, src)).toBeLessThan(1e-6);
  });

  test("no chunks: an empty track, every index missing", () => {
    expect(stitch([], { first: 0, last: 1 })).toEqual({ pcm: new Float32Array(), timeline: { durationMs: 0, chunks: [], gaps: [{ startMs: 0, endMs: 0, missingChunks: [0, 1] }] }, alignments: [] });
    expect(alignByCorrelation(new Float32Array(10), new Float32Array(10), 0)).toBeNull();
  });
});
