/**
 * @module processor/adapters/pcm
 * Pure codecs from the processor's PCM (mono Float32 in [-1, 1], `Pcm` in core/ports.ts) to the
 * bytes the transcribers take:
 *  - `toS16le`: signed 16-bit little-endian samples, what media.v1.TranscribeRequest.pcm_s16le
 *    carries. Samples outside [-1, 1] are clamped (a hot microphone overshoots; wrapping would
 *    turn a peak into a click), and NaN becomes 0. Scaling is x * 32767, rounded, so 1 -> 32767
 *    and -1 -> -32767: symmetric, and the same a browser's encoder does;
 *  - `toWav`: the same samples in a canonical 44-byte-header RIFF/WAVE file (PCM, format 1),
 *    the upload format of the OpenAI-compatible API.
 *
 * WAV header layout (all little-endian):
 *   0 "RIFF"  4 u32 36+dataBytes  8 "WAVE"  12 "fmt "  16 u32 16  20 u16 1 (PCM)  22 u16 channels
 *   24 u32 sampleRate  28 u32 byteRate  32 u16 blockAlign  34 u16 16 (bits)  36 "data"  40 u32 dataBytes
 */

/** Float32 [-1, 1] -> s16le bytes (clamped; NaN -> 0). */
export function toS16le(samples: Float32Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(samples.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    const clamped = s > 1 ? 1 : s < -1 ? -1 : Number.isNaN(s) ? 0 : s;
    view.setInt16(i * 2, Math.round(clamped * 32767), true);
  }
  return out;
}

/** A mono 16-bit PCM WAV file of `samples` at `sampleRate` Hz. */
export function toWav(samples: Float32Array, sampleRate: number): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) throw new RangeError(`sampleRate must be a positive integer, got ${sampleRate}`);
  const data = toS16le(samples);
  const out = new Uint8Array(44 + data.length);
  const v = new DataView(out.buffer);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  };
  ascii(0, "RIFF");
  v.setUint32(4, 36 + data.length, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  v.setUint32(16, 16, true); // fmt chunk size
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true); // byte rate: rate * channels * 2 bytes
  v.setUint16(32, 2, true); // block align: channels * 2 bytes
  v.setUint16(34, 16, true); // bits per sample
  ascii(36, "data");
  v.setUint32(40, data.length, true);
  out.set(data, 44);
  return out;
}
