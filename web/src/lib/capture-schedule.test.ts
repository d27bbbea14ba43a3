import { describe, expect, test } from 'bun:test';
import { CaptureSchedule, chunkTiming, frameOffsetMs, type ScheduleAction } from './capture-schedule.ts';

function run(s: CaptureSchedule, from: number, to: number, step: number) {
  const log: Array<[number, ScheduleAction]> = [];
  for (let t = from; t <= to; t += step) for (const a of s.tick(t)) log.push([t, a]);
  return log;
}

describe('CaptureSchedule', () => {
  const cfg = { chunkMs: 10_000, overlapMs: 100, frameMs: 2000 };

  test('starts the next recorder overlapMs before stopping the current one', () => {
    const s = new CaptureSchedule(cfg, 0);
    const log = run(s, 0, 30_000, 10).filter(([, a]) => a.type !== 'frame');
    expect(log).toEqual([
      [9900, { type: 'start-chunk', index: 1 }],
      [10_000, { type: 'stop-chunk', index: 0 }],
      [19_900, { type: 'start-chunk', index: 2 }],
      [20_000, { type: 'stop-chunk', index: 1 }],
      [29_900, { type: 'start-chunk', index: 3 }],
      [30_000, { type: 'stop-chunk', index: 2 }],
    ]);
  });

  test('frames every frameMs, attributed to the current chunk, sequential', () => {
    const s = new CaptureSchedule(cfg, 1000);
    const frames = run(s, 1000, 21_000, 10).filter(([, a]) => a.type === 'frame');
    expect(frames.map(([t]) => t)).toEqual([1000, 3000, 5000, 7000, 9000, 11_000, 13_000, 15_000, 17_000, 19_000, 21_000]);
    // The frame at the 11 000 boundary is due before the stop at 11 000: still chunk 0.
    expect(frames.map(([, a]) => (a as { chunkIndex: number }).chunkIndex)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
  });

  test('grid does not drift with coarse, jittery ticks', () => {
    const s = new CaptureSchedule(cfg, 0);
    const stops: number[] = [];
    for (let t = 0; t < 100_000; t += 37) for (const a of s.tick(t)) if (a.type === 'stop-chunk') stops.push(t);
    expect(stops.length).toBe(9);
    stops.forEach((t, i) => expect(t - (i + 1) * 10_000).toBeLessThan(37));
  });

  test('a late tick still starts the next recorder before stopping, and re-anchors', () => {
    const s = new CaptureSchedule(cfg, 0);
    s.tick(0);
    const acts = s.tick(25_000); // tab was frozen for 25 s
    expect(acts.map((a) => a.type)).toEqual(['frame', 'start-chunk', 'stop-chunk']);
    expect(s.currentChunk).toBe(1);
    expect(s.currentStopAt).toBe(35_000);
    expect(s.nextFrameAt).toBe(27_000);
  });

  test('continues indices after a resume', () => {
    const s = new CaptureSchedule({ chunkMs: 2000, overlapMs: 100, frameMs: 500 }, 0, 7);
    const log = run(s, 0, 2000, 50).filter(([, a]) => a.type !== 'frame');
    expect(log.map(([, a]) => a)).toEqual([{ type: 'start-chunk', index: 8 }, { type: 'stop-chunk', index: 7 }]);
  });

  test('nextDueAt', () => {
    const s = new CaptureSchedule(cfg, 0);
    s.tick(0);
    expect(s.nextDueAt()).toBe(2000);
    run(s, 1, 9_950, 1);
    expect(s.nextDueAt()).toBe(10_000);
  });

  test('rejects nonsense', () => {
    expect(() => new CaptureSchedule({ chunkMs: 100, overlapMs: 60, frameMs: 10 }, 0)).toThrow();
    expect(() => new CaptureSchedule({ chunkMs: 0, overlapMs: 0, frameMs: 10 }, 0)).toThrow();
  });
});

describe('timing helpers', () => {
  test('chunkTiming', () => {
    expect(chunkTiming(Date.UTC(2025, 0, 1, 10, 0, 0), Date.UTC(2025, 0, 1, 10, 0, 10, 100))).toEqual({
      start_timestamp: '2025-01-01T10:00:00.000Z',
      end_timestamp: '2025-01-01T10:00:10.100Z',
      duration_ms: 10_100,
    });
  });
  test('frameOffsetMs', () => {
    expect(frameOffsetMs(12_345.6, 10_000)).toBe(2346);
    expect(frameOffsetMs(9_990, 10_000)).toBe(0);
  });
});
