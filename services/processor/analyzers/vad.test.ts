import { afterAll, describe, expect, test } from 'bun:test';
import { AnalysisError } from '../../shared/media/errors.ts';
import { ortWasmDir, SileroVad, sileroModelPath, speechRatio, speechSegments, VAD_FRAME_MS } from './vad.ts';

const opts = { threshold: 0.5, hysteresis: 0.15, minSpeechMs: 250, minSilenceMs: 100, speechPadMs: 30 };
/** Probabilities from a pattern: '#' speech (0.9), '-' silence (0.05), '~' in between (0.4). */
const probs = (pattern: string) => Float32Array.from([...pattern].map((c) => (c === '#' ? 0.9 : c === '~' ? 0.4 : 0.05)));

describe('speechSegments (pure)', () => {
  const ms = (frames: number) => frames * VAD_FRAME_MS;

  test('one run of 20 frames, padded by 30 ms each side', () => {
    const p = probs('-----' + '#'.repeat(20) + '-----');
    expect(speechSegments(p, ms(30), opts)).toEqual([[ms(5) - 30, ms(25) + 30]]);
  });

  test('a run shorter than minSpeechMs is dropped', () => {
    expect(speechSegments(probs('---#######---------'), ms(19), opts)).toEqual([]); // 7 frames = 224 ms
    expect(speechSegments(probs('---########--------'), ms(19), opts)).toHaveLength(1); // 8 = 256 ms
  });

  test('a pause shorter than minSilenceMs stays inside the run; a longer one splits it', () => {
    const short = probs('#'.repeat(10) + '--' + '#'.repeat(10) + '------');
    expect(speechSegments(short, ms(28), opts)).toEqual([[0, ms(22) + 30]]);
    const long = probs('#'.repeat(10) + '-'.repeat(6) + '#'.repeat(10) + '------');
    expect(speechSegments(long, ms(32), opts)).toEqual([[0, ms(10) + 30], [ms(16) - 30, ms(26) + 30]]);
  });

  test('hysteresis: 0.4 is below the threshold but above the exit, so it continues speech but never starts it', () => {
    expect(speechSegments(probs('~'.repeat(30)), ms(30), opts)).toEqual([]);
    expect(speechSegments(probs('#'.repeat(5) + '~'.repeat(20) + '-----'), ms(30), opts)).toEqual([[0, ms(25) + 30]]);
  });

  test('speech to the very end is closed at the duration; padding is clamped; close runs merge', () => {
    expect(speechSegments(probs('----' + '#'.repeat(20)), ms(24), opts)).toEqual([[ms(4) - 30, ms(24)]]);
    const merged = speechSegments(probs('#'.repeat(10) + '----' + '#'.repeat(10)), ms(24), { ...opts, minSilenceMs: 64, speechPadMs: 70 });
    expect(merged).toEqual([[0, ms(24)]]);
  });

  test('speechRatio is the covered share of the duration', () => {
    expect(speechRatio([[0, 250], [500, 1000]], 1000)).toBe(0.75);
    expect(speechRatio([], 1000)).toBe(0);
    expect(speechRatio([[0, 10]], 0)).toBe(0);
  });
});

describe('SileroVad (the model on onnxruntime-web)', () => {
  let vad: SileroVad | null = null;
  afterAll(async () => { await vad?.release(); });

  test('loads from node_modules with the network forbidden', async () => {
    expect(ortWasmDir()).toMatch(/node_modules\/onnxruntime-web\/dist\/$/);
    expect(sileroModelPath()).toMatch(/node_modules\/@ricky0123\/vad-web\/dist\/silero_vad_v5\.onnx$/);
    const realFetch = globalThis.fetch;
    const fetched: string[] = [];
    globalThis.fetch = Object.assign(async (input: unknown) => {
      fetched.push(String(input));
      throw new Error('network forbidden in this test');
    }, { preconnect: realFetch.preconnect });
    try {
      vad = await SileroVad.load();
    } finally {
      globalThis.fetch = realFetch;
    }
    expect(fetched).toEqual([]);
  });

  test('scores digital silence and white noise low (speech: audio-analyzer.test.ts)', async () => {
    const n = 16_000 * 2;
    const silence = new Float32Array(n);
    let seed = 1;
    const noise = Float32Array.from({ length: n }, () => { seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31; return (seed / 2 ** 31 - 0.5) * 0.2; });
    const pSilence = await vad!.probabilities(silence);
    const pNoise = await vad!.probabilities(noise);
    expect(pSilence.length).toBe(Math.ceil(n / 512));
    expect(Math.max(...pSilence)).toBeLessThan(0.1);
    expect(pNoise.filter((p) => p >= 0.5).length / pNoise.length).toBeLessThan(0.1);
  });

  test('each call starts from a fresh state: the same input gives the same output, even interleaved', async () => {
    const x = Float32Array.from({ length: 8000 }, (_, i) => 0.3 * Math.sin(i * 0.07) * Math.sin(i * 0.001));
    const [a, b] = await Promise.all([vad!.probabilities(x), vad!.probabilities(x)]);
    expect([...a!]).toEqual([...b!]);
  });

  test('a missing model file is MODEL_UNAVAILABLE', async () => {
    const err = await SileroVad.load('/nonexistent/silero.onnx').then(() => null, (e) => e);
    expect(err).toBeInstanceOf(AnalysisError);
    expect(err.code).toBe('MODEL_UNAVAILABLE');
  });
});
