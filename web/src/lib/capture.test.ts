import { describe, expect, test } from 'bun:test';
import { audioMeta, chunkEndWallMs, frameChunkIndex, frameMeta, wantsClosingFrame } from './capture.ts';

describe('chunkEndWallMs', () => {
  test('is start + decoded duration, never after the stop time', () => {
    expect(chunkEndWallMs({ startWallMs: 1000, endWallMs: 11_000 }, 9_960)).toBe(10_960);
    expect(chunkEndWallMs({ startWallMs: 1000, endWallMs: 11_000 }, 10_050)).toBe(11_000);
  });

  test('falls back to the stop time when the chunk could not be decoded', () => {
    expect(chunkEndWallMs({ startWallMs: 1000, endWallMs: 11_000 }, undefined)).toBe(11_000);
  });
});

describe('item metadata', () => {
  test('audio: index, ISO timestamps, rounded duration, size', () => {
    expect(audioMeta(3, Date.UTC(2024, 0, 1), Date.UTC(2024, 0, 1) + 9_999.6, 4096)).toEqual({
      chunk_index: 3,
      start_timestamp: '2024-01-01T00:00:00.000Z',
      end_timestamp: '2024-01-01T00:00:09.999Z',
      duration_ms: 10_000,
      size: 4096,
    });
  });

  test('frame: its own index, the chunk it lies in and the offset into it', () => {
    expect(frameMeta(7, 2, Date.UTC(2024, 0, 1, 0, 0, 20), 1500, 900)).toEqual({
      frame_index: 7,
      chunk_index: 2,
      timestamp: '2024-01-01T00:00:20.000Z',
      offset_ms: 1500,
      size: 900,
    });
  });
});

describe('frameChunkIndex', () => {
  test('keeps the scheduled chunk while it records', () => {
    expect(frameChunkIndex(4, [4, 5])).toBe(4);
    expect(frameChunkIndex(4, [4])).toBe(4);
  });

  test('moves to the oldest recording chunk when the scheduled one has stopped meanwhile', () => {
    expect(frameChunkIndex(4, [5])).toBe(5);
  });

  test('keeps the scheduled chunk when nothing records (stopping)', () => {
    expect(frameChunkIndex(4, [])).toBe(4);
  });
});

describe('wantsClosingFrame', () => {
  test('only when the last frame is at least half a period old', () => {
    expect(wantsClosingFrame(10_000, 9_000, 2000)).toBe(true);
    expect(wantsClosingFrame(10_000, 9_001, 2000)).toBe(false);
    expect(wantsClosingFrame(10_000, 0, 2000)).toBe(true);
  });
});
