/**
 * @module analyzers/thresholds
 * Every tunable of the analyzers in one typed object, with its default, unit and meaning in one
 * table (`THRESHOLD_SPECS`). The processor's config.ts reads env vars into an `AnalysisThresholds`
 * (starting from `DEFAULT_THRESHOLDS`, checked by `validateThresholds`); docs are generated from
 * `thresholdRows()`.
 */

export interface ThresholdSpec {
  default: number;
  /** the unit, as a word docs can print */
  unit: string;
  min: number;
  max: number;
  /** whether only whole numbers are valid */
  integer?: boolean;
  /** true when the value must be a multiple of 32 (the face detector's grid) */
  multipleOf32?: boolean;
  meaning: string;
}

export const THRESHOLD_SPECS = {
  vadThreshold: {
    default: 0.5, unit: 'probability', min: 0.01, max: 0.99,
    meaning: 'Silero speech probability at or above which a 32 ms frame starts or continues speech.',
  },
  vadHysteresis: {
    default: 0.15, unit: 'probability', min: 0, max: 0.5,
    meaning: 'Speech ends only when the probability falls below vadThreshold minus this (Silero\'s own default), so a run does not flicker at the threshold.',
  },
  minSpeechMs: {
    default: 250, unit: 'ms', min: 0, max: 10_000, integer: true,
    meaning: 'Speech runs shorter than this are dropped (clicks, coughs).',
  },
  minSilenceMs: {
    default: 100, unit: 'ms', min: 0, max: 10_000, integer: true,
    meaning: 'A pause must last this long to end a speech run; shorter pauses stay inside it.',
  },
  speechPadMs: {
    default: 30, unit: 'ms', min: 0, max: 1000, integer: true,
    meaning: 'Each speech run is widened by this on both sides (onsets and tails the model scores late), then overlapping runs are merged.',
  },
  clippingLevel: {
    default: 0.99, unit: 'linear (full scale = 1)', min: 0.5, max: 1,
    meaning: 'A sample whose magnitude is at or above this counts as clipped.',
  },
  clippingRatio: {
    default: 0.001, unit: 'ratio', min: 0, max: 1,
    meaning: 'A chunk is flagged as clipping when this share of its samples (0.1 %) is clipped.',
  },
  blackLuma: {
    default: 0.06, unit: 'luma 0..1', min: 0, max: 1,
    meaning: 'A frame whose mean luma is below this is black (covered lens, camera off). About 15 of 255.',
  },
  frozenChange: {
    default: 0.002, unit: 'luma 0..1', min: 0, max: 1,
    meaning: 'A frame whose mean absolute luma difference to the previous one (both on the comparison grid) is below this is frozen. About 0.5 of 255: an identical picture re-encoded scores ~0, a person on a live camera scores far more; a perfectly still scene can score below it too.',
  },
  frozenGridWidth: {
    default: 64, unit: 'px', min: 8, max: 640, integer: true,
    meaning: 'Width of the grey grid both frames are reduced to before they are compared (averaging away JPEG and sensor noise).',
  },
  frozenGridHeight: {
    default: 48, unit: 'px', min: 6, max: 480, integer: true,
    meaning: 'Height of that grid.',
  },
  minFaceScore: {
    default: 0.5, unit: 'probability', min: 0.05, max: 0.99,
    meaning: 'Faces the detector scores below this are not reported.',
  },
  faceInputSize: {
    default: 512, unit: 'px', min: 128, max: 1024, integer: true, multipleOf32: true,
    meaning: 'Side of the square the tiny face detector scales each frame to: larger finds smaller faces and costs more (about 100 ms at 416, 145 ms at 512 per 640 px frame here).',
  },
} as const satisfies Record<string, ThresholdSpec>;

export type ThresholdName = keyof typeof THRESHOLD_SPECS;
export type AnalysisThresholds = { readonly [K in ThresholdName]: number };

export const THRESHOLD_NAMES = Object.keys(THRESHOLD_SPECS) as ThresholdName[];

export const DEFAULT_THRESHOLDS: AnalysisThresholds = Object.freeze(
  Object.fromEntries(THRESHOLD_NAMES.map((k) => [k, THRESHOLD_SPECS[k].default])) as Record<ThresholdName, number>,
);

export interface ThresholdRow {
  name: ThresholdName;
  default: number;
  unit: string;
  meaning: string;
}

/** One row per threshold, in declaration order: what docs render. */
export function thresholdRows(): ThresholdRow[] {
  return THRESHOLD_NAMES.map((name) => ({ name, default: THRESHOLD_SPECS[name].default, unit: THRESHOLD_SPECS[name].unit, meaning: THRESHOLD_SPECS[name].meaning }));
}

/** Every problem with a set of thresholds, as readable lines; empty when it is valid. */
export function validateThresholds(t: Partial<Record<string, unknown>>): string[] {
  const problems: string[] = [];
  for (const name of THRESHOLD_NAMES) {
    const spec: ThresholdSpec = THRESHOLD_SPECS[name];
    const v = t[name];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      problems.push(`${name}: must be a finite number`);
      continue;
    }
    if (v < spec.min || v > spec.max) problems.push(`${name}: ${v} is outside ${spec.min}..${spec.max}`);
    if (spec.integer && !Number.isInteger(v)) problems.push(`${name}: ${v} must be a whole number`);
    if (spec.multipleOf32 && v % 32 !== 0) problems.push(`${name}: ${v} must be a multiple of 32`);
  }
  for (const k of Object.keys(t)) if (!(k in THRESHOLD_SPECS)) problems.push(`${k}: not a threshold`);
  const vt = t.vadThreshold;
  const vh = t.vadHysteresis;
  if (typeof vt === 'number' && typeof vh === 'number' && vt - vh <= 0) {
    problems.push(`vadHysteresis: ${vh} leaves no exit threshold below vadThreshold ${vt}`);
  }
  return problems;
}

/** Defaults with overrides applied; throws a RangeError listing every problem. */
export function makeThresholds(overrides: Partial<AnalysisThresholds> = {}): AnalysisThresholds {
  const t = { ...DEFAULT_THRESHOLDS, ...overrides };
  const problems = validateThresholds(t);
  if (problems.length) throw new RangeError(`invalid analysis thresholds: ${problems.join('; ')}`);
  return Object.freeze(t);
}
