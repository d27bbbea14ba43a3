import { describe, expect, test } from 'bun:test';
import { DBFS_FLOOR, measureLevels, toDbfs } from './levels.ts';

const opts = { clippingLevel: 0.99, clippingRatio: 0.001 };

function sine(amplitude: number, n = 16_000, hz = 440, rate = 16_000): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
}

describe('toDbfs', () => {
  test('full scale is 0, half is -6.02, silence and negatives hit the floor', () => {
    expect(toDbfs(1)).toBe(0);
    expect(toDbfs(0.5)).toBeCloseTo(-6.0206, 3);
    expect(toDbfs(0)).toBe(DBFS_FLOOR);
    expect(toDbfs(-1)).toBe(DBFS_FLOOR);
    expect(toDbfs(1e-9)).toBe(DBFS_FLOOR);
    expect(toDbfs(Number.NaN)).toBe(DBFS_FLOOR);
  });
});

describe('measureLevels', () => {
  test('digital silence: both levels at the floor, no clipping', () => {
    expect(measureLevels(new Float32Array(16_000), opts)).toEqual({ rmsDbfs: DBFS_FLOOR, peakDbfs: DBFS_FLOOR, clippedRatio: 0, clipping: false });
  });

  test('no samples at all is silence too', () => {
    expect(measureLevels(new Float32Array(0), opts)).toEqual({ rmsDbfs: DBFS_FLOOR, peakDbfs: DBFS_FLOOR, clippedRatio: 0, clipping: false });
  });

  test('a -6 dBFS sine: peak -6.02, RMS -9.03, nothing clipped', () => {
    const l = measureLevels(sine(0.5), opts);
    expect(l.peakDbfs).toBeCloseTo(-6.02, 1);
    expect(l.rmsDbfs).toBeCloseTo(-9.03, 1);
    expect(l.clippedRatio).toBe(0);
    expect(l.clipping).toBe(false);
  });

  test('a square wave at full scale: every sample clipped', () => {
    const sq = Float32Array.from({ length: 1000 }, (_, i) => (i % 20 < 10 ? 1 : -1));
    const l = measureLevels(sq, opts);
    expect(l.rmsDbfs).toBeCloseTo(0, 5);
    expect(l.clippedRatio).toBe(1);
    expect(l.clipping).toBe(true);
  });

  test('the ratio threshold decides: 1 clipped sample in 2000 is under 0.1 %, 3 are over', () => {
    const x = new Float32Array(2000).fill(0.1);
    x[5] = -1;
    expect(measureLevels(x, opts)).toMatchObject({ clippedRatio: 0.0005, clipping: false });
    x[6] = 1;
    x[7] = 0.995;
    expect(measureLevels(x, opts)).toMatchObject({ clippedRatio: 0.0015, clipping: true });
  });

  test('a level just under the clipping level does not count', () => {
    const x = new Float32Array(100).fill(0.9899);
    expect(measureLevels(x, opts).clippedRatio).toBe(0);
  });
});
