/**
 * @module shared/media/stitch-session
 * A session's stored chunks (WebM/Opus bytes and their recorded times) → one Ogg Opus track and
 * its timeline: decode each (audio-decode.ts, the processor's decoder too, at 48 kHz), stitch.ts, encode, write Ogg.
 * A chunk that does not decode is left out, so it becomes a gap like a missing one.
 */
import { decodeChunk } from "./audio-decode";
import { OpusStreamEncoder } from "./opus-encode";
import { writeOggOpus } from "./ogg-opus";
import { STITCH_RATE, type StitchTimeline, TrackBuilder } from "./stitch";

export interface SessionChunk {
  chunkIndex: number;
  startMs: number;
  endMs: number;
  bytes: Uint8Array;
  /** default audio/webm */
  mediaType?: string;
}

export interface StitchedSession {
  ogg: Uint8Array;
  timeline: StitchTimeline;
  /** Chunks that did not decode (left out as gaps). */
  undecodable: number[];
  /** Milliseconds spent decoding, stitching, encoding. */
  ms: { decode: number; stitch: number; encode: number };
}

export async function stitchSession(chunks: readonly SessionChunk[], range: { first: number; last: number }): Promise<StitchedSession> {
  const ms = { decode: 0, stitch: 0, encode: 0 };
  const undecodable: number[] = [];
  const encoder = new OpusStreamEncoder();
  // One chunk decoded at a time, its finished samples encoded at once: memory holds two chunks'
  // PCM and the Opus packets, never the track as PCM.
  const builder = new TrackBuilder(range, (samples) => {
    const t = performance.now();
    encoder.push(samples);
    ms.encode += performance.now() - t;
  });
  for (const c of [...chunks].sort((x, y) => x.chunkIndex - y.chunkIndex)) {
    const t0 = performance.now();
    let pcm: Float32Array | null = null;
    try {
      pcm = (await decodeChunk(c.bytes, c.mediaType ?? "audio/webm", STITCH_RATE)).samples;
    } catch {
      undecodable.push(c.chunkIndex);
    }
    const t1 = performance.now();
    ms.decode += t1 - t0;
    const before = ms.encode;
    if (pcm) builder.add({ chunkIndex: c.chunkIndex, startMs: c.startMs, endMs: c.endMs, pcm });
    ms.stitch += performance.now() - t1 - (ms.encode - before);
  }
  const t2 = performance.now();
  const before = ms.encode;
  const timeline = builder.finish();
  ms.stitch += performance.now() - t2 - (ms.encode - before);
  const t3 = performance.now();
  const enc = encoder.end();
  const ogg = enc.totalSamples ? writeOggOpus({ packets: enc.packets, frameSamples: enc.frameSamples, preSkip: enc.preSkip, totalSamples: enc.totalSamples }) : new Uint8Array();
  ms.encode += performance.now() - t3;
  return { ogg, timeline, undecodable, ms };
}
