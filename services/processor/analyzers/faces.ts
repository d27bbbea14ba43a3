/**
 * @module analyzers/faces
 * Faces and their expressions in a JPEG frame, with @vladmandic/face-api (MIT) on TensorFlow.js's
 * WASM backend.
 *
 * What maps onto what:
 *  - `dist/face-api.node-wasm.js` is face-api built against `@tensorflow/tfjs` +
 *    `@tensorflow/tfjs-backend-wasm` (4.22.0, the versions it was built with). Its demo points the
 *    WASM paths at a CDN; here they point at the backend's own dist/ in node_modules.
 *  - Models come from the package's `model/` directory: the tiny face detector (193 KB) and the
 *    expression net (329 KB), read from disk. Nothing is fetched.
 *  - sharp decodes the JPEG to 8-bit RGB; that buffer becomes an int32 [h, w, 3] tensor, which is
 *    disposed after each frame (tfjs tensors are not garbage-collected).
 *
 * Loading (WASM compile + weights) happens once per process, on first use, and is shared; a failed
 * load is retried on the next call. TensorFlow.js has one global backend, so frames are detected
 * one at a time (a queue), which is also what two shared cores want.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { FaceFinding } from '../core/ports.ts';
import { AnalysisError } from '../../shared/media/errors.ts';

/** The part of face-api (and its tfjs) this module uses. */
interface FaceApi {
  tf: {
    setWasmPaths(path: string): void;
    setBackend(name: string): Promise<boolean>;
    ready(): Promise<void>;
    getBackend(): string;
    tensor3d(values: Uint8Array, shape: [number, number, number], dtype: 'int32'): { dispose(): void };
    memory(): { numTensors: number };
  };
  nets: {
    tinyFaceDetector: { loadFromDisk(dir: string): Promise<void> };
    faceExpressionNet: { loadFromDisk(dir: string): Promise<void> };
  };
  TinyFaceDetectorOptions: new (o: { inputSize: number; scoreThreshold: number }) => unknown;
  detectAllFaces(input: unknown, options: unknown): { withFaceExpressions(): Promise<FaceApiResult[]> };
}

interface FaceApiResult {
  detection: { score: number; box: { x: number; y: number; width: number; height: number } };
  expressions: Record<string, number>;
}

export interface FaceOptions {
  /** faces scored below this are dropped, 0..1 */
  minScore: number;
  /** side the detector scales the frame to; a multiple of 32 */
  inputSize: number;
}

export interface DecodedRgb {
  width: number;
  height: number;
  /** 8-bit RGB, row-major */
  data: Uint8Array;
}

const require = createRequire(import.meta.url);

export function faceApiModelDir(): string {
  return join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

export function tfWasmDir(): string {
  return dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + '/';
}

/** Decodes a JPEG (or anything sharp reads) to 8-bit sRGB. */
export async function decodeRgb(image: Uint8Array): Promise<DecodedRgb> {
  try {
    const { data, info } = await sharp(image).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
    return { width: info.width, height: info.height, data };
  } catch (e) {
    throw new AnalysisError('MEDIA_MALFORMED', `frame is not a decodable image: ${(e as Error).message}`, { cause: e });
  }
}

export class FaceDetector {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly api: FaceApi) {}

  /** Loads the WASM backend and both models. Prefer `sharedFaceDetector()`. */
  static async load(modelDir = faceApiModelDir()): Promise<FaceDetector> {
    try {
      const api = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
      api.tf.setWasmPaths(tfWasmDir());
      if (!(await api.tf.setBackend('wasm'))) throw new Error('tfjs refused the wasm backend');
      await api.tf.ready();
      await api.nets.tinyFaceDetector.loadFromDisk(modelDir);
      await api.nets.faceExpressionNet.loadFromDisk(modelDir);
      return new FaceDetector(api);
    } catch (e) {
      throw new AnalysisError('MODEL_UNAVAILABLE', `face-api failed to load: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Tensors alive in tfjs: constant between calls when nothing leaks. */
  tensorCount(): number {
    return this.api.tf.memory().numTensors;
  }

  detect(rgb: DecodedRgb, opts: FaceOptions): Promise<FaceFinding[]> {
    const run = this.queue.then(() => this.run(rgb, opts));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(rgb: DecodedRgb, opts: FaceOptions): Promise<FaceFinding[]> {
    const { tf } = this.api;
    const input = tf.tensor3d(rgb.data, [rgb.height, rgb.width, 3], 'int32');
    try {
      const options = new this.api.TinyFaceDetectorOptions({ inputSize: opts.inputSize, scoreThreshold: opts.minScore });
      const found = await this.api.detectAllFaces(input, options).withFaceExpressions();
      return found
        .filter((f) => f.detection.score >= opts.minScore)
        .map((f) => toFinding(f, rgb.width, rgb.height))
        .sort((a, b) => b.score - a.score);
    } finally {
      input.dispose();
    }
  }
}

function toFinding(f: FaceApiResult, width: number, height: number): FaceFinding {
  const b = f.detection.box;
  // Clip to the frame: the detector's boxes can reach past the border.
  const x = Math.max(0, b.x);
  const y = Math.max(0, b.y);
  const box = {
    x: round1(x),
    y: round1(y),
    width: round1(Math.min(width, b.x + b.width) - x),
    height: round1(Math.min(height, b.y + b.height) - y),
  };
  const scores: Record<string, number> = {};
  let dominant = '';
  let best = -1;
  for (const [name, p] of Object.entries(f.expressions)) {
    if (typeof p !== 'number') continue; // the object also carries methods
    scores[name] = Math.round(p * 1e4) / 1e4;
    if (p > best) [best, dominant] = [p, name];
  }
  return { box, score: Math.round(f.detection.score * 1e4) / 1e4, expression: { dominant, scores } };
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

let shared: Promise<FaceDetector> | null = null;

/** The process's one face detector, loaded on first use. */
export function sharedFaceDetector(): Promise<FaceDetector> {
  if (!shared) {
    shared = FaceDetector.load();
    shared.catch(() => { shared = null; });
  }
  return shared;
}
