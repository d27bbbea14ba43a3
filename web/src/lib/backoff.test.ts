import { describe, expect, test } from 'bun:test';
import { backoffDelayMs } from './backoff.ts';

describe('backoffDelayMs', () => {
  const opts = { baseMs: 100, maxMs: 5000 };
  test('grows exponentially within [ceil/2, ceil]', () => {
    expect(backoffDelayMs(0, { ...opts, random: () => 0 })).toBe(50);
    expect(backoffDelayMs(0, { ...opts, random: () => 0.999999 })).toBe(100);
    expect(backoffDelayMs(3, { ...opts, random: () => 0 })).toBe(400);
    expect(backoffDelayMs(3, { ...opts, random: () => 0.5 })).toBe(600);
  });
  test('is capped at maxMs even for huge attempts', () => {
    for (const a of [6, 10, 100, 1e6]) {
      const d = backoffDelayMs(a, { ...opts, random: () => 0.999999 });
      expect(d).toBeLessThanOrEqual(5000);
      expect(d).toBeGreaterThanOrEqual(2500);
    }
  });
  test('jitter spreads clients', () => {
    const ds = new Set(Array.from({ length: 50 }, () => backoffDelayMs(4, opts)));
    expect(ds.size).toBeGreaterThan(10);
  });
});
