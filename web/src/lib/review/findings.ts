/**
 * @module review/findings
 * The analysis (GET /sessions/{sid}/analysis) placed on the stitched track (GET .../timeline).
 *
 * Both run on the recording's clock from the first chunk's start. Consecutive chunks overlap; the
 * analysis reports each chunk's words inside its window (the overlaps split in the middle), and
 * the stitcher (services/shared/media/stitch.ts) keeps each chunk from the middle of its overlap
 * to the next one's, aligned by cross-correlation. So a time t in chunk c's window lands at
 * `track.start(c) + (t − window.from(c))`: the recording's clock, moved by the few ms the
 * alignment found. A time in no window (a capture event during an outage) moves with the chunk
 * before it. Pure.
 */
import type { Analysis, Timeline } from './types.ts';

interface ChunkMap {
  index: number;
  /** analysis clock, already shifted onto the track's origin */
  aStart: number;
  aEnd: number;
  wFrom: number;
  wTo: number;
  tStart: number;
  tEnd: number;
}

export type ToTrack = (analysisMs: number) => number;

/** A function from analysis time to track time, built from the chunks both answers know. */
export function trackClock(analysis: Pick<Analysis, 'timeline_start' | 'chunks'>, timeline: Pick<Timeline, 'origin' | 'chunks'>): ToTrack {
  const a0 = analysis.timeline_start ? Date.parse(analysis.timeline_start) : Number.NaN;
  const t0 = timeline.origin ? Date.parse(timeline.origin) : Number.NaN;
  // Both zeros are the first chunk's start; where they differ (chunk 0 never arrived), the wall clock says by how much.
  const delta = Number.isFinite(a0) && Number.isFinite(t0) ? a0 - t0 : 0;
  const onTrack = new Map(timeline.chunks.map((c) => [c.chunk_index, c]));
  const maps: ChunkMap[] = [];
  for (const c of analysis.chunks) {
    const t = onTrack.get(c.chunk_index);
    if (!t || c.start_ms === null || c.end_ms === null) continue;
    const [w0, w1] = c.window_ms;
    maps.push({
      index: c.chunk_index,
      aStart: c.start_ms + delta,
      aEnd: c.end_ms + delta,
      wFrom: (w0 ?? c.start_ms) + delta,
      wTo: (w1 ?? c.end_ms) + delta,
      tStart: t.start_ms,
      tEnd: t.end_ms,
    });
  }
  maps.sort((x, y) => x.aStart - y.aStart);
  return (ms: number) => {
    const t = ms + delta;
    if (maps.length === 0) return Math.max(0, t);
    const inside = maps.find((m) => t >= m.wFrom && t < m.wTo) ?? maps.find((m) => t >= m.aStart && t <= m.aEnd);
    if (inside) return Math.min(inside.tEnd, Math.max(inside.tStart, inside.tStart + (t - inside.wFrom)));
    let before: ChunkMap | undefined;
    for (const m of maps) if (m.wTo <= t) before = m;
    if (!before) return Math.max(0, t - (maps[0]!.wFrom - maps[0]!.tStart));
    return Math.max(0, t - (before.wTo - before.tEnd));
  };
}

export interface Word {
  text: string;
  startMs: number;
  endMs: number;
}

export interface Phrase {
  startMs: number;
  endMs: number;
  words: Word[];
}

export interface Findings {
  words: Word[];
  /** words grouped at pauses, for the transcript list */
  phrases: Phrase[];
  speech: Array<[number, number]>;
  /** by frame_index: what the frame analysis found (absent: not analysed) */
  frames: Map<number, { faces: number; black: boolean; frozen: boolean }>;
  events: Array<{ kind: string; phase: string; atMs: number }>;
  chunksFailed: number[];
}

/** A pause this long (ms) or this many words start a new phrase of the transcript. */
export const PHRASE_PAUSE_MS = 700;
export const PHRASE_MAX_WORDS = 14;

export function groupPhrases(words: readonly Word[], pauseMs = PHRASE_PAUSE_MS, maxWords = PHRASE_MAX_WORDS): Phrase[] {
  const out: Phrase[] = [];
  let cur: Phrase | null = null;
  for (const w of words) {
    if (!cur || w.startMs - cur.endMs >= pauseMs || cur.words.length >= maxWords) {
      cur = { startMs: w.startMs, endMs: w.endMs, words: [] };
      out.push(cur);
    }
    cur.words.push(w);
    cur.endMs = Math.max(cur.endMs, w.endMs);
  }
  return out;
}

/** Everything of the analysis the player shows, in track time. */
export function placeFindings(analysis: Analysis, timeline: Pick<Timeline, 'origin' | 'chunks'>): Findings {
  const toTrack = trackClock(analysis, timeline);
  const words: Word[] = [];
  const speech: Array<[number, number]> = [];
  const chunksFailed: number[] = [];
  for (const c of analysis.chunks) {
    if (c.failed) chunksFailed.push(c.chunk_index);
    if (!c.analysis) continue;
    for (const w of c.analysis.words) {
      if (w.start_ms === null || w.end_ms === null) continue;
      const s = toTrack(w.start_ms);
      words.push({ text: w.text.trim(), startMs: s, endMs: Math.max(s, toTrack(w.end_ms)) });
    }
    for (const [s, e] of c.analysis.speech_segments) {
      if (s === null || e === null) continue;
      const a = toTrack(s);
      const b = toTrack(e);
      if (b > a) speech.push([a, b]);
    }
  }
  words.sort((x, y) => x.startMs - y.startMs);
  speech.sort((x, y) => x[0] - y[0]);
  const frames = new Map<number, { faces: number; black: boolean; frozen: boolean }>();
  for (const f of analysis.frames) {
    if (!f.analysis) continue;
    frames.set(f.frame_index, { faces: f.analysis.faces.length, black: f.analysis.quality?.black === true, frozen: f.analysis.quality?.frozen === true });
  }
  const events = analysis.capture_events.flatMap((e) => (e.at_ms === null ? [] : [{ kind: e.kind, phase: e.phase, atMs: toTrack(e.at_ms) }]));
  return { words: words.filter((w) => w.text !== ''), phrases: groupPhrases(words.filter((w) => w.text !== '')), speech, frames, events, chunksFailed };
}

/** Index of the word being heard at tMs (start ≤ t < end), else of the last word before it; -1 before the first. */
export function wordIndexAt(words: readonly Pick<Word, 'startMs' | 'endMs'>[], tMs: number): number {
  let lo = 0;
  let hi = words.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (words[mid]!.startMs <= tMs) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * The analysis pages merged into one (the route pages chunks and frames, `next` says how to go
 * on); the summary is the session's own in every page.
 */
export function mergeAnalysisPages(pages: readonly Analysis[]): Analysis | null {
  const first = pages[0];
  if (!first) return null;
  return {
    ...first,
    chunks: pages.flatMap((p) => p.chunks),
    frames: pages.flatMap((p) => p.frames),
    next: pages.at(-1)!.next,
  };
}
