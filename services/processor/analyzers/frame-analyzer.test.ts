import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { AnalysisError } from '../../shared/media/errors.ts';
import { faceApiModelDir, FaceDetector, sharedFaceDetector } from './faces.ts';
import { FaceApiFrameAnalyzer } from './frame-analyzer.ts';

/**
 * Faces in the face-api package's demo photos, counted by looking at each picture (a person
 * whose face is visible, frontal or three-quarter). sample2 has three women looking down, one in
 * profile: the tiny detector finds only some of them, so its bound is a range.
 */
const DEMO_FACES: Record<string, [min: number, max: number]> = {
  'sample1.jpg': [3, 3],
  'sample2.jpg': [1, 3],
  'sample3.jpg': [3, 3],
  'sample4.jpg': [4, 4],
  'sample5.jpg': [5, 5],
  'sample6.jpg': [4, 4],
};
const demoDir = join(faceApiModelDir(), '..', 'demo');
const analyzer = new FaceApiFrameAnalyzer();
/** Each demo photo as the browser would send it: 640 px wide, JPEG quality 80. */
const frames = new Map<string, Uint8Array>();
let black: Uint8Array;

beforeAll(async () => {
  for (const name of Object.keys(DEMO_FACES)) {
    frames.set(name, await sharp(readFileSync(join(demoDir, name))).resize(640).jpeg({ quality: 80 }).toBuffer());
  }
  black = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 0, g: 0, b: 0 } } }).jpeg({ quality: 80 }).toBuffer();
});
afterAll(() => frames.clear());

describe('faces', () => {
  for (const [name, [min, max]] of Object.entries(DEMO_FACES)) {
    test(`${name}: ${min === max ? min : `${min}..${max}`} faces, boxes inside the frame, expressions scored`, async () => {
      const r = await analyzer.faces(frames.get(name)!);
      expect(r.width).toBe(640);
      expect(r.height).toBeGreaterThan(400);
      expect(r.faces.length).toBeGreaterThanOrEqual(min);
      expect(r.faces.length).toBeLessThanOrEqual(max);
      for (const f of r.faces) {
        expect(f.score).toBeGreaterThanOrEqual(0.5);
        expect(f.box.x).toBeGreaterThanOrEqual(0);
        expect(f.box.y).toBeGreaterThanOrEqual(0);
        expect(f.box.x + f.box.width).toBeLessThanOrEqual(640);
        expect(f.box.y + f.box.height).toBeLessThanOrEqual(r.height);
        // A face in these group photos is 60..200 px wide at 640 px.
        expect(f.box.width).toBeGreaterThan(40);
        expect(f.box.width).toBeLessThan(220);
        const scores = Object.values(f.expression.scores);
        expect(Object.keys(f.expression.scores).sort()).toEqual(['angry', 'disgusted', 'fearful', 'happy', 'neutral', 'sad', 'surprised']);
        expect(scores.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 1);
        expect(f.expression.scores[f.expression.dominant]).toBe(Math.max(...scores));
      }
      // No two findings are the same face (the detector's own overlap suppression held).
      for (let i = 0; i < r.faces.length; i++) for (let j = i + 1; j < r.faces.length; j++) expect(iou(r.faces[i]!.box, r.faces[j]!.box)).toBeLessThan(0.3);
    });
  }

  test('sample1: the three women are laughing/smiling; at least two read as happy', async () => {
    const r = await analyzer.faces(frames.get('sample1.jpg')!);
    expect(r.faces.filter((f) => f.expression.dominant === 'happy').length).toBeGreaterThanOrEqual(2);
  });

  test('a black frame has no faces', async () => {
    const r = await analyzer.faces(black);
    expect(r).toEqual({ width: 640, height: 480, faces: [] });
  });

  test('models load once and are shared; frames leak no tensors', async () => {
    const a = await sharedFaceDetector();
    expect(await sharedFaceDetector()).toBe(a);
    const before = a.tensorCount();
    await analyzer.faces(frames.get('sample3.jpg')!);
    await analyzer.faces(black);
    expect(a.tensorCount()).toBe(before);
  });

  test('bytes that are not an image are MEDIA_MALFORMED; a missing model dir is MODEL_UNAVAILABLE', async () => {
    const err = await analyzer.faces(Uint8Array.from([0xff, 0xd8, 0xff, 0x00, 1, 2, 3])).then(() => null, (e) => e);
    expect(err).toBeInstanceOf(AnalysisError);
    expect(err.code).toBe('MEDIA_MALFORMED');
    const load = await FaceDetector.load('/nonexistent/models').then(() => null, (e) => e);
    expect(load?.code).toBe('MODEL_UNAVAILABLE');
  });
});

describe('quality', () => {
  test('a black frame is black and dark; a photo is neither', async () => {
    const q = await analyzer.quality(black);
    expect(q).toEqual({ brightness: 0, black: true, frozen: null, changeFromPrevious: null });
    const p = await analyzer.quality(frames.get('sample6.jpg')!);
    expect(p.black).toBe(false);
    expect(p.brightness).toBeGreaterThan(0.2);
    expect(p.brightness).toBeLessThan(0.9);
  });

  test('a mid-grey frame reads about 0.5', async () => {
    const grey = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 128, g: 128, b: 128 } } }).jpeg().toBuffer();
    expect((await analyzer.quality(grey)).brightness).toBeCloseTo(128 / 255, 2);
  });

  test('the same frame twice is frozen; two different photos are not', async () => {
    const a = frames.get('sample1.jpg')!;
    const same = await analyzer.quality(a, a);
    expect(same.frozen).toBe(true);
    expect(same.changeFromPrevious).toBe(0);
    const diff = await analyzer.quality(frames.get('sample2.jpg')!, a);
    expect(diff.frozen).toBe(false);
    expect(diff.changeFromPrevious!).toBeGreaterThan(0.05);
  });

  test('the same picture re-encoded at another JPEG quality still counts as frozen; a small shift does not', async () => {
    const src = readFileSync(join(demoDir, 'sample3.jpg'));
    const q80 = frames.get('sample3.jpg')!;
    const q60 = await sharp(src).resize(640).jpeg({ quality: 60 }).toBuffer();
    expect((await analyzer.quality(q60, q80)).frozen).toBe(true);
    // The camera moved by 16 px: the picture changed.
    const shifted = await sharp(src).resize(656).extract({ left: 16, top: 0, width: 640, height: 400 }).jpeg({ quality: 80 }).toBuffer();
    const base = await sharp(src).resize(656).extract({ left: 0, top: 0, width: 640, height: 400 }).jpeg({ quality: 80 }).toBuffer();
    expect((await analyzer.quality(shifted, base)).frozen).toBe(false);
  });
});

function iou(a: { x: number; y: number; width: number; height: number }, b: typeof a): number {
  const w = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}
