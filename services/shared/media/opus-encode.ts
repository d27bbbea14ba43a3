/**
 * @module shared/media/opus-encode
 * 48 kHz mono PCM → Opus packets of 20 ms, through libopus compiled to WASM (`opusscript`, MIT;
 * no native build, no download). Application "audio", 40 kbps, complexity 5: measured here at
 * about 50 ms per 10 s of audio (complexity 10 costs seven times that for no audible gain on
 * speech at this rate). `OpusStreamEncoder` takes the samples as they come (a long track never
 * sits in memory as PCM); `encodeOpus` is the one-shot form.
 */
import OpusScript from "opusscript";

export const OPUS_FRAME_SAMPLES = 960;
export const OPUS_BITRATE = 40_000;
/** libopus's lookahead at 48 kHz (2.5 ms + 4 ms): the Ogg pre-skip. */
export const OPUS_PRE_SKIP = 312;
const OPUS_SET_COMPLEXITY = 4010;

export interface EncodedOpus {
  packets: Uint8Array[];
  preSkip: number;
  frameSamples: number;
  /** Real samples encoded (the last frame's padding and the lookahead flush excluded). */
  totalSamples: number;
}

export class OpusStreamEncoder {
  private readonly enc: OpusScript;
  private readonly frame = new Int16Array(OPUS_FRAME_SAMPLES);
  private readonly frameBytes = Buffer.from(this.frame.buffer);
  private filled = 0;
  private total = 0;
  private readonly packets: Uint8Array[] = [];

  constructor(opts: { bitrate?: number; complexity?: number } = {}) {
    this.enc = new OpusScript(48_000, 1, OpusScript.Application.AUDIO);
    this.enc.setBitrate(opts.bitrate ?? OPUS_BITRATE);
    this.enc.encoderCTL(OPUS_SET_COMPLEXITY, opts.complexity ?? 5);
  }

  private flushFrame(): void {
    this.packets.push(new Uint8Array(this.enc.encode(this.frameBytes, OPUS_FRAME_SAMPLES)));
    this.filled = 0;
  }

  push(pcm: Float32Array): void {
    for (let i = 0; i < pcm.length; i++) {
      const v = pcm[i]!;
      this.frame[this.filled++] = Math.round((v > 1 ? 1 : v < -1 ? -1 : v) * 32767);
      if (this.filled === OPUS_FRAME_SAMPLES) this.flushFrame();
    }
    this.total += pcm.length;
  }

  /** Flushes the lookahead (silence) and the last partial frame; the encoder is freed. */
  end(): EncodedOpus {
    try {
      // The encoder delays its output by the lookahead: feed that much silence, so the last real
      // samples leave it (the Ogg granule trims what is past the audio).
      for (let left = OPUS_PRE_SKIP; left > 0; left--) {
        this.frame[this.filled++] = 0;
        if (this.filled === OPUS_FRAME_SAMPLES) this.flushFrame();
      }
      if (this.filled > 0) {
        this.frame.fill(0, this.filled);
        this.flushFrame();
      }
      return { packets: this.packets, preSkip: OPUS_PRE_SKIP, frameSamples: OPUS_FRAME_SAMPLES, totalSamples: this.total };
    } finally {
      this.enc.delete();
    }
  }
}

export function encodeOpus(pcm: Float32Array, opts: { bitrate?: number; complexity?: number } = {}): EncodedOpus {
  const e = new OpusStreamEncoder(opts);
  e.push(pcm);
  return e.end();
}
