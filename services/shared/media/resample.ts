/**
 * @module shared/media/resample
 * Sample-rate conversion by a Kaiser-windowed sinc (band-limited interpolation), and downmixing.
 * Pure.
 *
 * The ratio out/in is reduced to L/M. Output sample n sits at input position n·M/L; its value is
 * the sum of the input around that position weighted by a low-pass kernel whose cutoff is
 * `rolloff` × the lower of the two Nyquist frequencies, so content above the output's Nyquist is
 * filtered out instead of folding back (which plain sample-dropping does). Only L distinct
 * fractional positions exist, so the kernel is tabulated once per phase (polyphase) and cached per
 * ratio: 48 kHz → 16 kHz is L=1, M=3, one phase of 2·24·3/0.9 ≈ 160 taps.
 *
 * Defaults (24 zero crossings each side, Kaiser β 8.5, rolloff 0.9), measured at 48 → 16 kHz:
 * flat within 0.1 dB up to 6.5 kHz (0.8 of the new Nyquist), −2.4 dB at 7 kHz, −17 dB at 7.5 kHz,
 * and more than 80 dB down from 8.5 kHz up, so nothing audible folds back (resample.test.ts
 * checks the pass and stop bands). ~40 ms per 10 s of 48 kHz audio here.
 */

export interface ResampleOptions {
  /** kernel half-width in zero crossings of the lower rate; more = sharper transition, slower */
  zeroCrossings?: number;
  /** Kaiser window shape; higher = deeper stop band, wider transition */
  kaiserBeta?: number;
  /** cutoff as a fraction of the lower Nyquist frequency, 0 < rolloff <= 1 */
  rolloff?: number;
}

interface Kernel {
  up: number;
  down: number;
  /** taps per phase */
  taps: number;
  /** offset of tap 0 from floor(input position) */
  first: number;
  /** phases × taps, row-major */
  table: Float32Array;
}

const kernels = new Map<string, Kernel>();

/** Converts mono samples from `fromHz` to `toHz`. Returns the input itself when the rates match. */
export function resample(input: Float32Array, fromHz: number, toHz: number, opts: ResampleOptions = {}): Float32Array {
  if (!(fromHz > 0 && toHz > 0 && Number.isInteger(fromHz) && Number.isInteger(toHz))) {
    throw new RangeError(`sample rates must be positive integers, got ${fromHz} → ${toHz}`);
  }
  if (fromHz === toHz) return input;
  const k = kernel(fromHz, toHz, opts);
  const outLength = Math.floor((input.length * k.up) / k.down);
  const out = new Float32Array(outLength);
  const { up, down, taps, first, table } = k;
  const n = input.length;
  for (let o = 0; o < outLength; o++) {
    const num = o * down; // input position × up
    const base = Math.floor(num / up);
    const phase = num - base * up;
    const row = phase * taps;
    const start = base + first;
    let acc = 0;
    if (start >= 0 && start + taps <= n) {
      for (let t = 0; t < taps; t++) acc += table[row + t]! * input[start + t]!;
    } else {
      // Edges: samples outside the input count as silence.
      for (let t = 0; t < taps; t++) {
        const i = start + t;
        if (i >= 0 && i < n) acc += table[row + t]! * input[i]!;
      }
    }
    out[o] = acc;
  }
  return out;
}

/** Averages the channels into a new array (never a view of an input). */
export function downmix(channels: readonly Float32Array[]): Float32Array {
  if (channels.length === 0) return new Float32Array(0);
  if (channels.length === 1) return channels[0]!.slice();
  const n = Math.min(...channels.map((c) => c.length));
  const out = new Float32Array(n);
  const g = 1 / channels.length;
  for (const c of channels) for (let i = 0; i < n; i++) out[i]! += c[i]! * g;
  return out;
}

function kernel(fromHz: number, toHz: number, opts: ResampleOptions): Kernel {
  const zc = opts.zeroCrossings ?? 24;
  const beta = opts.kaiserBeta ?? 8.5;
  const rolloff = opts.rolloff ?? 0.9;
  const key = `${fromHz}:${toHz}:${zc}:${beta}:${rolloff}`;
  const cached = kernels.get(key);
  if (cached) return cached;
  const g = gcd(fromHz, toHz);
  const up = toHz / g;
  const down = fromHz / g;
  // Cutoff in cycles per INPUT sample.
  const fc = 0.5 * rolloff * Math.min(1, up / down);
  const halfWidth = zc / (2 * fc); // input samples each side
  const first = -Math.floor(halfWidth);
  const taps = Math.floor(halfWidth) * 2 + 2;
  const table = new Float32Array(up * taps);
  const i0beta = besselI0(beta);
  for (let p = 0; p < up; p++) {
    const frac = p / up; // phase p = (o·down) mod up: the output sits p/up of a sample past `base`
    let sum = 0;
    for (let t = 0; t < taps; t++) {
      const x = first + t - frac; // distance (input samples) from the output position
      let w = 0;
      if (Math.abs(x) < halfWidth) {
        const r = x / halfWidth;
        w = (2 * fc * sinc(2 * fc * x) * besselI0(beta * Math.sqrt(1 - r * r))) / i0beta;
      }
      table[p * taps + t] = w;
      sum += w;
    }
    // Unity gain at DC for every phase (the truncated kernel sums to ~1; this removes the ripple).
    if (sum !== 0) for (let t = 0; t < taps; t++) table[p * taps + t]! /= sum;
  }
  const k = { up, down, taps, first, table };
  kernels.set(key, k);
  return k;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

/** Zeroth-order modified Bessel function of the first kind (power series). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
