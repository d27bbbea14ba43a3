import { describe, expect, test } from 'bun:test';
import { at, clampMs, frameIndexAt, layoutTimeline, sortFrames, span, stepFrame, timeAtFraction } from './timeline.ts';

const frames = [0, 2000, 4000, 6000].map((at_ms, i) => ({ at_ms, frame_index: i }));

describe('frameIndexAt: the frame with the largest at_ms ≤ t', () => {
  test('before, on, between and after frames', () => {
    expect(frameIndexAt(frames.slice(1), 500)).toBe(-1);
    expect(frameIndexAt(frames, 0)).toBe(0);
    expect(frameIndexAt(frames, 1999)).toBe(0);
    expect(frameIndexAt(frames, 2000)).toBe(1);
    expect(frameIndexAt(frames, 5999.9)).toBe(2);
    expect(frameIndexAt(frames, 60_000)).toBe(3);
    expect(frameIndexAt([], 100)).toBe(-1);
  });
  test('agrees with a linear scan on random sorted frames', () => {
    for (let round = 0; round < 50; round++) {
      const f = sortFrames(Array.from({ length: 1 + Math.floor(Math.random() * 40) }, (_, i) => ({ at_ms: Math.floor(Math.random() * 10_000), frame_index: i })));
      const t = Math.floor(Math.random() * 11_000) - 500;
      let want = -1;
      f.forEach((x, i) => {
        if (x.at_ms <= t) want = i;
      });
      expect(frameIndexAt(f, t)).toBe(want);
    }
  });
});

test('sortFrames orders by at_ms then index, leaves out frames without a time, without changing its input', () => {
  const input = [{ at_ms: 5, frame_index: 2 }, { at_ms: 1, frame_index: 1 }, { at_ms: null, frame_index: 3 }, { at_ms: 5, frame_index: 0 }];
  expect(sortFrames(input).map((f) => f.frame_index)).toEqual([1, 0, 2]);
  expect(input[0]!.frame_index).toBe(2);
});

describe('stepFrame (, and .)', () => {
  test('next is the frame after the shown one, previous the one before it', () => {
    expect(stepFrame(frames, 2500, 1)?.at_ms).toBe(4000);
    expect(stepFrame(frames, 2500, -1)?.at_ms).toBe(0);
    expect(stepFrame(frames, 2000, -1)?.at_ms).toBe(0);
  });
  test('ends: nothing after the last, nothing before the first; before the first frame, next is the first', () => {
    expect(stepFrame(frames, 6000, 1)).toBeNull();
    expect(stepFrame(frames, 100, -1)).toBeNull();
    expect(stepFrame(frames.slice(1), 100, -1)).toBeNull();
    expect(stepFrame(frames.slice(1), 100, 1)?.at_ms).toBe(2000);
    expect(stepFrame([], 0, 1)).toBeNull();
  });
});

test('clampMs and timeAtFraction keep seeks on the track', () => {
  expect(clampMs(-5, 1000)).toBe(0);
  expect(clampMs(Number.NaN, 1000)).toBe(0);
  expect(clampMs(1500, 1000)).toBe(1000);
  expect(clampMs(1500, 0)).toBe(1500);
  expect(timeAtFraction(50, 200, 30_000)).toBe(7500);
  expect(timeAtFraction(250, 200, 30_000)).toBe(30_000);
  expect(timeAtFraction(10, 0, 30_000)).toBe(0);
});

test('span and at are percent of the track, clipped', () => {
  expect(span(0, 5000, 10_000)).toEqual({ left: 0, width: 50 });
  expect(span(9000, 12_000, 10_000)).toEqual({ left: 90, width: 10 });
  expect(span(3000, 2000, 10_000)).toEqual({ left: 30, width: 0 });
  expect(span(0, 1, 0)).toEqual({ left: 0, width: 0 });
  expect(at(2500, 10_000)).toBe(25);
  expect(at(-1, 10_000)).toBe(0);
  expect(at(20_000, 10_000)).toBe(100);
});

test('layoutTimeline: chunks and a gap tile the track; frames become ticks in order', () => {
  const l = layoutTimeline({
    duration_ms: 40_000,
    chunks: [
      { chunk_index: 0, start_ms: 0, end_ms: 10_000 },
      { chunk_index: 2, start_ms: 20_000, end_ms: 40_000 },
    ],
    gaps: [{ start_ms: 10_000, end_ms: 20_000, missing_chunks: [1] }],
    frames: [
      { frame_index: 1, at_ms: 30_000, chunk_index: 2, offset_ms: 10_000 },
      { frame_index: 0, at_ms: 2000, chunk_index: 0, offset_ms: 2000 },
    ],
  });
  expect(l.chunks.map((c) => [c.index, c.left, c.width])).toEqual([
    [0, 0, 25],
    [2, 50, 50],
  ]);
  expect(l.gaps).toEqual([{ left: 25, width: 25, startMs: 10_000, endMs: 20_000, missing: [1] }]);
  expect(l.frames).toEqual([
    { left: 5, frameIndex: 0, atMs: 2000 },
    { left: 75, frameIndex: 1, atMs: 30_000 },
  ]);
});
