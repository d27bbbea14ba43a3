/**
 * @module analyzers/levels
 * Level meters over mono PCM. Pure.
 *
 * dBFS here is 20·log10 of the linear value against a sample of 1.0 (full scale): a full-scale
 * sine reads 0 dBFS peak and −3.01 dBFS RMS. Digital silence has no logarithm, so every level is
 * clamped to DBFS_FLOOR (−100 dBFS, below anything a 16-bit or Opus source produces as noise).
 */

/** Lowest level reported, dBFS: what digital silence reads. */
export const DBFS_FLOOR = -100;

export interface LevelOptions {
  /** |sample| at or above this counts as clipped, linear 0..1 */
  clippingLevel: number;
  /** clipping is reported when the clipped share of samples reaches this, 0..1 */
  clippingRatio: number;
}

export interface Levels {
  rmsDbfs: number;
  peakDbfs: number;
  /** share of samples with |x| >= clippingLevel, 0..1 (0 for no samples) */
  clippedRatio: number;
  clipping: boolean;
}

/** Linear amplitude → dBFS, clamped to DBFS_FLOOR. */
export function toDbfs(linear: number): number {
  if (!(linear > 0)) return DBFS_FLOOR;
  return Math.max(DBFS_FLOOR, 20 * Math.log10(linear));
}

export function measureLevels(samples: Float32Array, opts: LevelOptions): Levels {
  let sumSq = 0;
  let peak = 0;
  let clipped = 0;
  for (let i = 0; i < samples.length; i++) {
    const a = Math.abs(samples[i]!);
    sumSq += a * a;
    if (a > peak) peak = a;
    if (a >= opts.clippingLevel) clipped++;
  }
  const n = samples.length;
  const clippedRatio = n === 0 ? 0 : clipped / n;
  return {
    rmsDbfs: toDbfs(n === 0 ? 0 : Math.sqrt(sumSq / n)),
    peakDbfs: toDbfs(peak),
    clippedRatio,
    clipping: n > 0 && clippedRatio >= opts.clippingRatio,
  };
}
