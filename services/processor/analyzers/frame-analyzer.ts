/**
 * @module analyzers/frame-analyzer
 * The processor's `FrameAnalyzer` port: faces (faces.ts, face-api on tfjs WASM) and picture
 * quality (frame-quality.ts, sharp), with the thresholds of thresholds.ts.
 */
import type { FaceFinding, FrameAnalyzer, FrameQuality } from '../core/ports.ts';
import { decodeRgb, type FaceDetector, sharedFaceDetector } from './faces.ts';
import { frameQuality } from './frame-quality.ts';
import { DEFAULT_THRESHOLDS, type AnalysisThresholds } from './thresholds.ts';

export class FaceApiFrameAnalyzer implements FrameAnalyzer {
  constructor(
    private readonly thresholds: AnalysisThresholds = DEFAULT_THRESHOLDS,
    private readonly loadDetector: () => Promise<FaceDetector> = sharedFaceDetector,
  ) {}

  async faces(jpeg: Uint8Array): Promise<{ width: number; height: number; faces: FaceFinding[] }> {
    const [rgb, detector] = await Promise.all([decodeRgb(jpeg), this.loadDetector()]);
    const faces = await detector.detect(rgb, { minScore: this.thresholds.minFaceScore, inputSize: this.thresholds.faceInputSize });
    return { width: rgb.width, height: rgb.height, faces };
  }

  quality(jpeg: Uint8Array, previousJpeg?: Uint8Array): Promise<FrameQuality> {
    const t = this.thresholds;
    return frameQuality(jpeg, previousJpeg, {
      blackLuma: t.blackLuma,
      frozenChange: t.frozenChange,
      gridWidth: t.frozenGridWidth,
      gridHeight: t.frozenGridHeight,
    });
  }
}
