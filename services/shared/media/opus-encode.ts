/**
 * @module shared/media/opus-encode
 * 48 kHz mono PCM → Opus packets of 20 ms, through libopus compiled to WASM (`opusscript`, MIT;
 * no native build, no download). Application "audio", 40 kbps, complexity 5: measured here at
 * about 50 ms per 10 s of audio (complexity 10 costs seven times that for no audible gain on
 * speech at this rate).
 */
import OpusScript from "opusscript";

export const OPUS_FRAME_SAMPLES = 960;
export const OPUS_BITRATE = 40_000;
/** libopus's lookahead at 48 kHz (2.5 ms + 4 ms): the Ogg pre-skip. */
export const OPUS_PRE_SKIP = 312;
const OPUS_SET_COMPLEXITY = 4010;

export function encodeOpus(pcm: Float32Array, opts: { bitrate?: number; complexity?: number } = {}): { packets: Uint8Array[]; preSkip: number; frameSamples: number } {
  const enc = new OpusScript(48_000, 1, OpusScript.Application.AUDIO);
  try {
    enc.setBitrate(opts.bitrate ?? OPUS_BITRATE);
    enc.encoderCTL(OPUS_SET_COMPLEXITY, opts.complexity ?? 5);
    // The encoder delays its output by the lookahead: feed that much silence at the end too, so
    // the last real samples leave the encoder (the Ogg granule trims what is past the audio).
    const frames = Math.ceil((pcm.length + OPUS_PRE_SKIP) / OPUS_FRAME_SAMPLES);
    const int16 = new Int16Array(frames * OPUS_FRAME_SAMPLES);
    for (let i = 0; i < pcm.length; i++) {
      const v = Math.max(-1, Math.min(1, pcm[i]!));
      int16[i] = Math.round(v * 32767);
    }
    const buf = Buffer.from(int16.buffer);
    const packets: Uint8Array[] = [];
    for (let f = 0; f < frames; f++) {
      const frame = buf.subarray(f * OPUS_FRAME_SAMPLES * 2, (f + 1) * OPUS_FRAME_SAMPLES * 2);
      packets.push(new Uint8Array(enc.encode(frame, OPUS_FRAME_SAMPLES)));
    }
    return { packets, preSkip: OPUS_PRE_SKIP, frameSamples: OPUS_FRAME_SAMPLES };
  } finally {
    enc.delete();
  }
}
