/**
 * @module analyzers/audio-analyzer
 * The processor's `AudioAnalyzer` port: decode (audio-decode.ts), then level meters (levels.ts)
 * and voice activity (vad.ts) over the same PCM. VAD always runs on 16 kHz; PCM at another rate
 * is resampled for it, while levels are measured on the PCM as given.
 */
import type { AudioAnalyzer, AudioFeatures, Pcm } from '../core/ports.ts';
import { decodeChunk, DEFAULT_SAMPLE_RATE } from '../../shared/media/audio-decode.ts';
import { measureLevels } from './levels.ts';
import { resample } from '../../shared/media/resample.ts';
import { DEFAULT_THRESHOLDS, type AnalysisThresholds } from './thresholds.ts';
import { sharedSileroVad, type SileroVad, speechRatio, speechSegments, VAD_SAMPLE_RATE } from './vad.ts';

export class SileroAudioAnalyzer implements AudioAnalyzer {
  /**
   * @param loadVad where the Silero session comes from; the default is the process's shared one,
   *   loaded on first use.
   */
  constructor(
    private readonly thresholds: AnalysisThresholds = DEFAULT_THRESHOLDS,
    private readonly loadVad: () => Promise<SileroVad> = sharedSileroVad,
  ) {}

  decode(data: Uint8Array, mediaType: string, sampleRate = DEFAULT_SAMPLE_RATE): Promise<Pcm> {
    return decodeChunk(data, mediaType, sampleRate);
  }

  async features(pcm: Pcm): Promise<AudioFeatures> {
    const t = this.thresholds;
    const durationMs = (pcm.samples.length / pcm.sampleRate) * 1000;
    const levels = measureLevels(pcm.samples, { clippingLevel: t.clippingLevel, clippingRatio: t.clippingRatio });
    const vad = await this.loadVad();
    const x16k = resample(pcm.samples, pcm.sampleRate, VAD_SAMPLE_RATE);
    const probabilities = await vad.probabilities(x16k);
    const segments = speechSegments(probabilities, durationMs, {
      threshold: t.vadThreshold,
      hysteresis: t.vadHysteresis,
      minSpeechMs: t.minSpeechMs,
      minSilenceMs: t.minSilenceMs,
      speechPadMs: t.speechPadMs,
    });
    return {
      durationMs,
      speechRatio: speechRatio(segments, durationMs),
      speechSegments: segments,
      ...levels,
    };
  }
}
