/**
 * @module gateway/review-audio
 * A session's stitched audio for the review routes: reads the session's chunk rows and blobs,
 * has the stitcher (a worker thread, services/shared/media) decode them, cut the overlaps and
 * encode one Ogg Opus track, and keeps the result in a byte-bounded LRU cache keyed by the
 * chunks' hashes: a session that gets a new chunk is stitched again, one that does not is served
 * from memory (a 1 h interview is about 15 MB at 32 kbps). Concurrent requests for the same
 * session share one stitch.
 */
import { AppError, toAppError } from "../../shared/errors";
import type { Logger } from "../../shared/log";
import type { SessionChunk } from "../../shared/media/stitch-session";
import type { Stitcher as SharedStitcher } from "../../shared/media/stitch-worker";
import type { SessionAudio } from "./http-review";
import type { SessionSummary } from "../core/ports";
import { chunkRef, mapLimit, READ_CONCURRENCY, type Review } from "../core/review";

/** The stitcher port: services/shared/media/stitch-worker.ts, or anything that stitches alike. */
export type Stitcher = Pick<SharedStitcher, "stitch">;

export interface ReviewAudioOptions {
  review: Review;
  stitcher: Stitcher;
  sha256Hex(data: string): string;
  /** Most bytes of stitched tracks kept in memory. */
  cacheBytes: number;
  log: Logger;
  events?: { stitched(seconds: number, chunks: number, bytes: number): void; cache(hit: boolean): void };
}

export function createReviewAudio(o: ReviewAudioOptions): (s: SessionSummary) => Promise<SessionAudio> {
  const cache = new Map<string, { key: string; audio: SessionAudio }>();
  let cached = 0;
  const building = new Map<string, Promise<SessionAudio>>();

  const remember = (sessionId: string, key: string, audio: SessionAudio) => {
    const old = cache.get(sessionId);
    if (old) cached -= old.audio.ogg.byteLength;
    cache.delete(sessionId);
    if (audio.ogg.byteLength > o.cacheBytes) return;
    cache.set(sessionId, { key, audio });
    cached += audio.ogg.byteLength;
    for (const [sid, e] of cache) {
      if (cached <= o.cacheBytes) break;
      cache.delete(sid);
      cached -= e.audio.ogg.byteLength;
    }
  };

  const build = async (s: SessionSummary): Promise<SessionAudio> => {
    const { chunks, frames } = await o.review.items(s.sessionId);
    const key = o.sha256Hex(chunks.map((c) => `${c.chunkIndex}:${c.sha256Hex}:${c.startMs}:${c.endMs}`).join("\n"));
    const hit = cache.get(s.sessionId);
    if (hit && hit.key === key) {
      // LRU: a hit moves to the end.
      cache.delete(s.sessionId);
      cache.set(s.sessionId, hit);
      o.events?.cache(true);
      return { ...hit.audio, frames };
    }
    o.events?.cache(false);
    if (!chunks.length) return { ogg: new Uint8Array(), originMs: 0, durationMs: 0, chunks: [], gaps: [], frames };
    const t0 = performance.now();
    const inputs = (
      await mapLimit(chunks, READ_CONCURRENCY, async (c) => {
        try {
          return { chunkIndex: c.chunkIndex, startMs: c.startMs, endMs: c.endMs, bytes: await o.review.blob(chunkRef(s.sessionId, c)) };
        } catch (err) {
          if (toAppError(err).code === "NOT_FOUND") return null; // a blob gone from storage is a gap; verify reports it
          throw err;
        }
      })
    ).filter((c): c is SessionChunk => c !== null);
    const first = chunks[0]!.chunkIndex;
    const last = Math.max(chunks[chunks.length - 1]!.chunkIndex, s.totalChunks - 1);
    const r = await o.stitcher.stitch(inputs, { first, last });
    const audio: SessionAudio = { ogg: r.ogg, originMs: Math.min(...chunks.map((c) => c.startMs).filter((ms) => ms > 0)), ...r.timeline, frames };
    if (!Number.isFinite(audio.originMs)) throw new AppError("INTERNAL", "chunks without start timestamps");
    const seconds = (performance.now() - t0) / 1000;
    o.events?.stitched(seconds, inputs.length, r.ogg.byteLength);
    o.log.info("audio stitched", { sessionId: s.sessionId, chunks: inputs.length, gaps: r.timeline.gaps.length, bytes: r.ogg.byteLength, durationMs: r.timeline.durationMs, ms: Math.round(seconds * 1000) });
    remember(s.sessionId, key, audio);
    return audio;
  };

  return (s) => {
    const pending = building.get(s.sessionId);
    if (pending) return pending;
    const p = build(s).finally(() => building.delete(s.sessionId));
    building.set(s.sessionId, p);
    return p;
  };
}
