import { describe, expect, test } from 'bun:test';
import { downmix, resample } from './resample.ts';

const tone = (hz: number, rate: number, seconds: number, amp = 0.5) =>
  Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amp * Math.sin((2 * Math.PI * hz * i) / rate));

/** RMS over the middle of the signal, away from the edge transients. */
function midRms(x: Float32Array): number {
  const a = Math.floor(x.length * 0.2), b = Math.floor(x.length * 0.8);
  let s = 0;
  for (let i = a; i < b; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s / (b - a));
}
const db = (ratio: number) => 20 * Math.log10(ratio);

describe('resample', () => {
  test('48 kHz → 16 kHz: exact length, pass band kept within 0.1 dB', () => {
    for (const hz of [100, 1000, 4000, 6500]) {
      const x = tone(hz, 48_000, 1);
      const y = resample(x, 48_000, 16_000);
      expect(y.length).toBe(16_000);
      expect(Math.abs(db(midRms(y) / midRms(x)))).toBeLessThan(0.1);
    }
  });

  test('48 kHz → 16 kHz: tones above the new Nyquist are removed, not folded back (> 80 dB down)', () => {
    for (const hz of [8500, 10_000, 13_000, 20_000]) {
      const x = tone(hz, 48_000, 1);
      const y = resample(x, 48_000, 16_000);
      expect(db(midRms(y) / midRms(x))).toBeLessThan(-80);
    }
    // What sample-dropping would have done: a 10 kHz tone comes back as a loud 6 kHz alias.
    const x = tone(10_000, 48_000, 1);
    const dropped = x.filter((_, i) => i % 3 === 0);
    expect(db(midRms(dropped) / midRms(x))).toBeGreaterThan(-1);
  });

  test('a non-integer ratio (44.1 kHz → 16 kHz) keeps the tone at its frequency', () => {
    const y = resample(tone(1000, 44_100, 1), 44_100, 16_000);
    expect(y.length).toBe(16_000);
    // Correlate against a 1 kHz reference at 16 kHz: all the energy is there.
    const ref = tone(1000, 16_000, 1);
    let dot = 0;
    for (let i = 3000; i < 13_000; i++) dot += y[i]! * ref[i]!;
    expect(dot / 10_000).toBeCloseTo(0.125, 2); // mean of (0.5 sin)^2
  });

  test('upsampling 16 kHz → 48 kHz interpolates the samples in between', () => {
    const x = tone(440, 16_000, 0.5);
    const y = resample(x, 16_000, 48_000);
    expect(y.length).toBe(24_000);
    const want = tone(440, 48_000, 0.5);
    let err = 0;
    for (let i = 2000; i < 22_000; i++) err = Math.max(err, Math.abs(y[i]! - want[i]!));
    expect(err).toBeLessThan(1e-3);
  });

  test('equal rates return the input; silence stays silence; bad rates throw', () => {
    const x = new Float32Array(10);
    expect(resample(x, 16_000, 16_000)).toBe(x);
    expect(resample(new Float32Array(4800), 48_000, 16_000).every((v) => v === 0)).toBe(true);
    expect(() => resample(x, 0, 16_000)).toThrow(RangeError);
    expect(() => resample(x, 48_000, 16_000.5)).toThrow(RangeError);
  });
});

describe('downmix', () => {
  test('averages channels into a new array', () => {
    const l = Float32Array.from([1, 0.5, 0]);
    const r = Float32Array.from([0, 0.5, -1]);
    expect([...downmix([l, r])]).toEqual([0.5, 0.5, -0.5]);
    const mono = downmix([l]);
    expect(mono).not.toBe(l);
    expect([...mono]).toEqual([...l]);
    expect(downmix([]).length).toBe(0);
  });
});
