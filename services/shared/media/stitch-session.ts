/**
 * @module shared/media/stitch-session
 * A session's stored chunks (WebM/Opus bytes and their recorded times) → one Ogg Opus track and
 * its timeline: decode each (audio-decode.ts, the processor's decoder too, at 48 kHz), stitch.ts, encode, write Ogg.
 * A chunk that does not decode is left out, so it becomes a gap like a missing one.
 */
import { decodeChunk } from "./audio-decode";
import { encodeOpus } from "./opus-encode";
import { writeOggOpus } from "./ogg-opus";
import { STITCH_RATE, stitch, type StitchTimeline } from "./stitch";

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
  const t0 = performance.now();
  const decoded = [];
  const undecodable: number[] = [];
  for (const c of chunks) {
    try {
      const pcm = await decodeChunk(c.bytes, c.mediaType ?? "audio/webm", STITCH_RATE);
      decoded.push({ chunkIndex: c.chunkIndex, startMs: c.startMs, endMs: c.endMs, pcm: pcm.samples });
    } catch {
      undecodable.push(c.chunkIndex);
    }
  }
  const t1 = performance.now();
  const s = stitch(decoded, range);
  const t2 = performance.now();
  const enc = encodeOpus(s.pcm);
  const ogg = s.pcm.length ? writeOggOpus({ packets: enc.packets, frameSamples: enc.frameSamples, preSkip: enc.preSkip, totalSamples: s.pcm.length }) : new Uint8Array();
  const t3 = performance.now();
  return { ogg, timeline: s.timeline, undecodable, ms: { decode: t1 - t0, stitch: t2 - t1, encode: t3 - t2 } };
}
