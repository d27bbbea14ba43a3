/**
 * @module chirp
 * The known signal the fake microphone plays (Chromium --use-file-for-fake-audio-capture loops
 * it): a linear sine sweep, so every instant of it is unique and a few milliseconds of decoded
 * audio can be located in it to within a sample. That turns "no audio lost between chunks" into
 * a measurement: where chunk k ends and chunk k+1 starts, in signal time.
 */
import { writeFileSync } from 'node:fs';

export interface Chirp {
  sampleRate: number;
  seconds: number;
  f0: number;
  f1: number;
}

export const DEFAULT_CHIRP: Chirp = { sampleRate: 48_000, seconds: 90, f0: 300, f1: 3300 };

/**
 * A 1 s sweep, looped: 20 ms of it is located to the sample (it sweeps 60 Hz in 20 ms). Use it to
 * measure boundaries: over 20 ms the 90 s sweep changes by under 1 Hz, nearly a pure tone whose
 * windows match many places a period apart, so it cannot tell a 10 ms jump from none.
 */
export const SWEEP: Chirp = { sampleRate: 48_000, seconds: 1, f0: 300, f1: 3300 };

/** Instantaneous phase (radians) at time t seconds. */
export function chirpPhase(c: Chirp, t: number): number {
  const k = (c.f1 - c.f0) / c.seconds;
  return 2 * Math.PI * (c.f0 * t + (k * t * t) / 2);
}

export function chirpSamples(c: Chirp, amplitude = 0.5): Float32Array {
  const n = Math.round(c.sampleRate * c.seconds);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amplitude * Math.sin(chirpPhase(c, i / c.sampleRate));
  return out;
}

/** Writes a 16-bit PCM mono WAV of the chirp. */
export function writeChirpWav(path: string, c: Chirp = DEFAULT_CHIRP): Float32Array {
  const s = chirpSamples(c);
  const buf = Buffer.alloc(44 + s.length * 2);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + s.length * 2, 4);
  buf.write('WAVE', 8);
  buf.write('fmt ', 12);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(c.sampleRate, 24);
  buf.writeUInt32LE(c.sampleRate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(s.length * 2, 40);
  for (let i = 0; i < s.length; i++) buf.writeInt16LE(Math.round(Math.max(-1, Math.min(1, s[i]!)) * 32767), 44 + i * 2);
  writeFileSync(path, buf);
  return s;
}
