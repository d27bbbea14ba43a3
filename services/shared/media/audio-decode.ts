/**
 * @module shared/media/audio-decode
 * A stored audio chunk (audio/webm, one Opus track) → mono PCM at the requested rate.
 *
 * webm-demux.ts yields the Opus packets; `opus-decoder` (libopus compiled to WASM, MIT, no install
 * step, no network) decodes each at 48 kHz; the channels are averaged and resample.ts converts to
 * the target rate with a proper low-pass kernel.
 *
 * Timing follows the Ogg/WebM Opus rules: the first `pre-skip` samples (OpusHead, or the track's
 * CodecDelay when there is no OpusHead) are decoder warm-up and are dropped; a packet's
 * DiscardPadding drops samples from its end (ffmpeg pads the last frame this way). So the PCM's
 * length is the audio the recorder captured. The OpusHead output gain is applied.
 *
 * Safari's audio/mp4 (AAC) is out of scope: UNSUPPORTED_MEDIA_TYPE, not a guess.
 */
import { OpusDecoder } from 'opus-decoder';
import { AnalysisError } from './errors.ts';
import { downmix, resample } from './resample.ts';
import { demuxWebmAudio, type WebmAudio } from './webm-demux.ts';

/** Opus always decodes to 48 kHz here; other rates come from resample.ts. */
const OPUS_RATE = 48_000;
export const DEFAULT_SAMPLE_RATE = 16_000;

/** Mono PCM samples at a rate. */
export interface Pcm {
  samples: Float32Array;
  sampleRate: number;
}

export interface OpusHead {
  channels: number;
  preSkip: number;
  inputSampleRate: number;
  /** dB (Q7.8 in the header) */
  outputGainDb: number;
  mappingFamily: number;
  streamCount: number;
  coupledStreamCount: number;
  channelMapping: number[];
}

/** Parses the OpusHead identification header (RFC 7845 §5.1), WebM's CodecPrivate for Opus. */
export function parseOpusHead(b: Uint8Array): OpusHead {
  const magic = 'OpusHead';
  if (b.length < 19 || [...magic].some((c, i) => b[i] !== c.charCodeAt(0))) {
    throw new AnalysisError('MEDIA_MALFORMED', 'Opus CodecPrivate is not an OpusHead');
  }
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const channels = b[9]!;
  const mappingFamily = b[18]!;
  if (channels === 0) throw new AnalysisError('MEDIA_MALFORMED', 'OpusHead with 0 channels');
  let streamCount = 1;
  let coupledStreamCount = channels === 2 ? 1 : 0;
  let channelMapping = channels === 2 ? [0, 1] : [0];
  if (mappingFamily !== 0) {
    if (b.length < 21 + channels) throw new AnalysisError('MEDIA_MALFORMED', 'OpusHead channel mapping table cut short');
    streamCount = b[19]!;
    coupledStreamCount = b[20]!;
    channelMapping = [...b.subarray(21, 21 + channels)];
  } else if (channels > 2) {
    throw new AnalysisError('MEDIA_MALFORMED', `OpusHead mapping family 0 with ${channels} channels`);
  }
  return {
    channels,
    preSkip: v.getUint16(10, true),
    inputSampleRate: v.getUint32(12, true),
    outputGainDb: v.getInt16(16, true) / 256,
    mappingFamily,
    streamCount,
    coupledStreamCount,
    channelMapping,
  };
}

/** True for the media types decodeChunk accepts: audio/webm or video/webm, any parameters. */
export function isWebmMediaType(mediaType: string): boolean {
  const base = mediaType.split(';')[0]!.trim().toLowerCase();
  return base === 'audio/webm' || base === 'video/webm';
}

/**
 * Decodes one chunk file to mono PCM.
 * @throws AnalysisError UNSUPPORTED_MEDIA_TYPE (audio/mp4 and anything not WebM/Opus),
 *   MEDIA_TRUNCATED, MEDIA_MALFORMED (bad container, or packets libopus refuses).
 */
export async function decodeChunk(data: Uint8Array, mediaType: string, sampleRate = DEFAULT_SAMPLE_RATE): Promise<Pcm> {
  if (!isWebmMediaType(mediaType)) {
    throw new AnalysisError('UNSUPPORTED_MEDIA_TYPE', `unsupported media type "${mediaType}": only audio/webm (Opus) is decoded`);
  }
  if (!Number.isInteger(sampleRate) || sampleRate < 8000 || sampleRate > OPUS_RATE) {
    throw new RangeError(`sampleRate must be an integer in 8000..48000, got ${sampleRate}`);
  }
  const webm = demuxWebmAudio(data);
  const mono48k = await decodeOpus(webm);
  return { samples: resample(mono48k, OPUS_RATE, sampleRate), sampleRate };
}

/** Decodes the demuxed Opus packets to mono 48 kHz, pre-skip and discard padding applied. */
export async function decodeOpus(webm: WebmAudio): Promise<Float32Array> {
  const head = webm.track.codecPrivate ? parseOpusHead(webm.track.codecPrivate) : null;
  const channels = head?.channels ?? webm.track.channels;
  if (!head && channels > 2) throw new AnalysisError('MEDIA_MALFORMED', `Opus track of ${channels} channels without an OpusHead`);
  const preSkip = head ? head.preSkip : Math.round((webm.track.codecDelayNs * OPUS_RATE) / 1e9);
  const decoder = new OpusDecoder({
    channels,
    streamCount: head?.streamCount ?? 1,
    coupledStreamCount: head?.coupledStreamCount ?? (channels === 2 ? 1 : 0),
    channelMappingTable: head?.channelMapping ?? (channels === 2 ? [0, 1] : [0]),
    preSkip: 0, // applied below, so discard padding and pre-skip are handled in one place
  });
  try {
    await decoder.ready;
    const parts: Float32Array[] = [];
    let total = 0;
    let errors = 0;
    let firstError = '';
    for (const packet of webm.packets) {
      if (packet.data.length === 0) continue;
      const out = decoder.decodeFrame(packet.data);
      if (out.errors.length > 0) {
        errors += out.errors.length;
        firstError ||= out.errors[0]!.message;
      }
      let pcm = downmix(out.channelData.map((c) => c.subarray(0, out.samplesDecoded)));
      const discard = Math.round((packet.discardPaddingNs * OPUS_RATE) / 1e9);
      if (discard > 0) pcm = pcm.subarray(0, Math.max(0, pcm.length - discard));
      parts.push(pcm);
      total += pcm.length;
    }
    if (errors > 0) {
      throw new AnalysisError('MEDIA_MALFORMED', `libopus refused ${errors} of ${webm.packets.length} packets (${firstError})`);
    }
    const out = new Float32Array(Math.max(0, total - preSkip));
    let skip = preSkip;
    let at = 0;
    for (const p of parts) {
      const from = Math.min(skip, p.length);
      skip -= from;
      out.set(p.subarray(from), at);
      at += p.length - from;
    }
    const gainDb = head?.outputGainDb ?? 0;
    if (gainDb !== 0) {
      const g = 10 ** (gainDb / 20);
      for (let i = 0; i < out.length; i++) out[i]! *= g;
    }
    return out;
  } finally {
    decoder.free();
  }
}
