/**
 * @module review/timeline
 * Where things are on a media session's stitched track, for the review player: which frame is
 * shown at a playback time, the frame before/after it (the , and . keys), and the timeline bar's
 * layout in percent of the track (chunks, gaps drawn as gaps, frame ticks). Pure; times in ms.
 */
import type { Timeline, TimelineFrame } from './types.ts';

/**
 * Index (into `frames`, sorted by at_ms) of the frame shown at `tMs`: the one with the largest
 * at_ms ≤ tMs; -1 before the first frame. Binary search: a long interview has thousands.
 */
export function frameIndexAt(frames: readonly { at_ms: number }[], tMs: number): number {
  let lo = 0;
  let hi = frames.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (frames[mid]!.at_ms <= tMs) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * The frames that have a place on the track, in playback order (by at_ms, then frame_index);
 * the timeline route's order is not relied on, and a frame without a time is not shown.
 */
export function sortFrames<F extends { at_ms: number | null; frame_index: number }>(frames: readonly F[]): Array<F & { at_ms: number }> {
  return frames.filter((f): f is F & { at_ms: number } => typeof f.at_ms === 'number' && Number.isFinite(f.at_ms)).sort((a, b) => a.at_ms - b.at_ms || a.frame_index - b.frame_index);
}

/**
 * The frame to seek to for "previous frame" (dir −1) / "next frame" (dir +1) from time tMs:
 * next is the first frame after the shown one (before the first frame: the first); previous is
 * the one before the shown one. null: there is none in that direction.
 */
export function stepFrame<F extends { at_ms: number }>(frames: readonly F[], tMs: number, dir: -1 | 1): F | null {
  if (frames.length === 0) return null;
  const i = frameIndexAt(frames, tMs);
  if (dir === 1) return frames[i + 1] ?? null;
  return i > 0 ? frames[i - 1]! : null;
}

/** Clamps a seek target to the track: [0, durationMs]. */
export function clampMs(tMs: number, durationMs: number): number {
  if (!Number.isFinite(tMs) || tMs < 0) return 0;
  return durationMs > 0 ? Math.min(tMs, durationMs) : tMs;
}

/** The time under a click at `x` px of a bar `width` px wide, on a track of durationMs. */
export function timeAtFraction(x: number, width: number, durationMs: number): number {
  if (!(width > 0)) return 0;
  return clampMs(Math.round((x / width) * durationMs), durationMs);
}

export interface Span {
  /** percent of the track from its start */
  left: number;
  /** percent of the track */
  width: number;
}

/** [startMs, endMs] as percent of the track, clipped to it; a zero-length span keeps its position. */
export function span(startMs: number, endMs: number, durationMs: number): Span {
  if (!(durationMs > 0)) return { left: 0, width: 0 };
  const a = Math.max(0, Math.min(startMs, durationMs));
  const b = Math.max(a, Math.min(endMs, durationMs));
  return { left: (a / durationMs) * 100, width: ((b - a) / durationMs) * 100 };
}

/** A point on the track as percent from its start, clipped to [0, 100]. */
export function at(tMs: number, durationMs: number): number {
  return durationMs > 0 ? (Math.max(0, Math.min(tMs, durationMs)) / durationMs) * 100 : 0;
}

export interface TimelineLayout {
  chunks: Array<Span & { index: number; startMs: number; endMs: number }>;
  gaps: Array<Span & { startMs: number; endMs: number; missing: number[] }>;
  frames: Array<{ left: number; frameIndex: number; atMs: number }>;
}

/** The bar under the player: every chunk and gap as a span, every frame as a tick. */
export function layoutTimeline(t: Pick<Timeline, 'duration_ms' | 'chunks' | 'gaps' | 'frames'>): TimelineLayout {
  const d = t.duration_ms;
  return {
    chunks: t.chunks.map((c) => ({ ...span(c.start_ms, c.end_ms, d), index: c.chunk_index, startMs: c.start_ms, endMs: c.end_ms })),
    gaps: t.gaps.map((g) => ({ ...span(g.start_ms, g.end_ms, d), startMs: g.start_ms, endMs: g.end_ms, missing: [...g.missing_chunks] })),
    frames: sortFrames(t.frames).map((f) => ({ left: at(f.at_ms, d), frameIndex: f.frame_index, atMs: f.at_ms })),
  };
}
