import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { encodeBrowserChunk, speakToWav, tempDir, writeWav } from '../../../test/support/speech.ts';
import { SileroAudioAnalyzer } from './audio-analyzer.ts';
import { DBFS_FLOOR } from './levels.ts';

const dir = tempDir();
const analyzer = new SileroAudioAnalyzer();
const chunks: Record<'speech' | 'silence' | 'noise' | 'clippedTone' | 'quietTone', Uint8Array> = {} as never;
const RATE = 48_000;
/** seconds of each spoken sentence */
let speechParts = { a: 0, b: 0 };

beforeAll(() => {
  // Speech: two sentences with a 2 s pause between (espeak-ng, then silence, then espeak-ng).
  speakToWav('Thank you for joining the interview today.', dir.file('a.wav'));
  speakToWav('Could you describe a difficult problem you solved?', dir.file('b.wav'));
  const a = readWav(dir.file('a.wav'));
  const b = readWav(dir.file('b.wav'));
  const gap = new Float32Array(2 * a.rate);
  writeWav(dir.file('speech.wav'), concat(new Float32Array(a.rate / 2), a.samples, gap, b.samples), a.rate);
  encodeBrowserChunk(dir.file('speech.wav'), dir.file('speech.webm'));

  writeWav(dir.file('silence.wav'), new Float32Array(RATE), RATE);
  encodeBrowserChunk(dir.file('silence.wav'), dir.file('silence.webm'));

  let seed = 7;
  const noise = Float32Array.from({ length: RATE * 10 }, () => { seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31; return (seed / 2 ** 31 - 0.5) * 0.5; });
  writeWav(dir.file('noise.wav'), noise, RATE);
  encodeBrowserChunk(dir.file('noise.wav'), dir.file('noise.webm'));

  // 440 Hz driven 6 dB past full scale and clipped: what an overdriven microphone records.
  const hot = Float32Array.from({ length: RATE * 10 }, (_, i) => Math.max(-1, Math.min(1, 2 * Math.sin((2 * Math.PI * 440 * i) / RATE))));
  writeWav(dir.file('clipped.wav'), hot, RATE);
  encodeBrowserChunk(dir.file('clipped.wav'), dir.file('clipped.webm'), { bitrateKbps: 96 });

  const quiet = Float32Array.from({ length: RATE * 10 }, (_, i) => 0.25 * Math.sin((2 * Math.PI * 440 * i) / RATE));
  writeWav(dir.file('quiet.wav'), quiet, RATE);
  encodeBrowserChunk(dir.file('quiet.wav'), dir.file('quiet.webm'));

  chunks.speech = readFileSync(dir.file('speech.webm'));
  chunks.silence = readFileSync(dir.file('silence.webm'));
  chunks.noise = readFileSync(dir.file('noise.webm'));
  chunks.clippedTone = readFileSync(dir.file('clipped.webm'));
  chunks.quietTone = readFileSync(dir.file('quiet.webm'));
  speechParts = { a: a.samples.length / a.rate, b: b.samples.length / b.rate };
});
afterAll(() => dir.cleanup());

async function analyse(name: keyof typeof chunks) {
  const pcm = await analyzer.decode(chunks[name], 'audio/webm;codecs=opus');
  return analyzer.features(pcm);
}

describe('SileroAudioAnalyzer on browser-style chunks', () => {
  test('speech: ratio > 0.3, two segments where the two sentences are', async () => {
    const f = await analyse('speech');
    const parts = speechParts;
    expect(f.durationMs).toBeCloseTo(10_000, -1);
    expect(f.speechRatio).toBeGreaterThan(0.3);
    expect(f.speechSegments).toHaveLength(2);
    const [s1, s2] = f.speechSegments as [[number, number], [number, number]];
    // Sentence 1 spans 0.5 s .. 0.5 + a; the pause 2 s; sentence 2 follows.
    const aEnd = 500 + parts.a * 1000;
    const bStart = aEnd + 2000;
    const bEnd = bStart + parts.b * 1000;
    expect(s1[0]).toBeGreaterThan(300);
    expect(s1[0]).toBeLessThan(900);
    expect(s1[1]).toBeGreaterThan(aEnd - 600);
    expect(s1[1]).toBeLessThan(aEnd + 300);
    expect(s2[0]).toBeGreaterThan(bStart - 300);
    expect(s2[0]).toBeLessThan(bStart + 600);
    expect(s2[1]).toBeGreaterThan(bEnd - 600);
    expect(s2[1]).toBeLessThan(bEnd + 300);
    expect(f.rmsDbfs).toBeGreaterThan(-40);
    expect(f.clipping).toBe(false);
  });

  test('silence: no speech, RMS and peak at the floor', async () => {
    const f = await analyse('silence');
    expect(f.speechRatio).toBe(0);
    expect(f.speechSegments).toEqual([]);
    expect(f.rmsDbfs).toBe(DBFS_FLOOR);
    expect(f.peakDbfs).toBe(DBFS_FLOOR);
    expect(f.clipping).toBe(false);
  });

  test('white noise: a low speech ratio', async () => {
    const f = await analyse('noise');
    expect(f.speechRatio).toBeLessThan(0.1);
    // Uniform noise of ±0.25 is -16.8 dBFS over 24 kHz; two thirds of its band are above 8 kHz
    // and go in the resampling (-4.8 dB), and Opus at 32 kbps spends few bits on it.
    expect(f.rmsDbfs).toBeGreaterThan(-30);
    expect(f.rmsDbfs).toBeLessThan(-20);
  });

  test('a tone clipped at full scale is flagged; the same tone at -12 dBFS is not', async () => {
    const hot = await analyse('clippedTone');
    expect(hot.clipping).toBe(true);
    expect(hot.clippedRatio).toBeGreaterThan(0.1);
    expect(hot.peakDbfs).toBeGreaterThan(-0.5);
    const quiet = await analyse('quietTone');
    expect(quiet.clipping).toBe(false);
    expect(quiet.clippedRatio).toBe(0);
    expect(quiet.peakDbfs).toBeCloseTo(-12, 0);
    expect(quiet.rmsDbfs).toBeCloseTo(-15, 0);
  });

  test('PCM at another rate is resampled for the VAD; levels are measured as given', async () => {
    const pcm48 = await analyzer.decode(chunks.speech, 'audio/webm', 48_000);
    const pcm16 = await analyzer.decode(chunks.speech, 'audio/webm', 16_000);
    const [f48, f16] = await Promise.all([analyzer.features(pcm48), analyzer.features(pcm16)]);
    expect(f48.durationMs).toBeCloseTo(f16.durationMs, -1);
    expect(Math.abs(f48.speechRatio - f16.speechRatio)).toBeLessThan(0.05);
    expect(Math.abs(f48.rmsDbfs - f16.rmsDbfs)).toBeLessThan(0.5);
  });
});

function readWav(path: string): { samples: Float32Array; rate: number } {
  const b = readFileSync(path);
  // espeak-ng writes a canonical 44-byte header, mono 16-bit; find "data" to be safe.
  const rate = b.readUInt32LE(24);
  let at = 12;
  while (at + 8 <= b.length && b.toString('ascii', at, at + 4) !== 'data') at += 8 + b.readUInt32LE(at + 4);
  const len = Math.min(b.readUInt32LE(at + 4), b.length - at - 8); // espeak may leave the size unset
  const n = Math.floor(len / 2);
  const samples = new Float32Array(n);
  for (let i = 0; i < n; i++) samples[i] = b.readInt16LE(at + 8 + i * 2) / 32768;
  return { samples, rate };
}

function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
