/**
 * @module shared/media/stitch
 * One gapless track out of a session's audio chunks (docs/review.md, "Gapless audio"). Pure:
 * decoded PCM in, a plan and the assembled PCM out.
 *
 * The browser's recorders overlap (the next starts ~120 ms before the current stops), and each
 * chunk's recorded start/end carry a few ms of jitter. For two consecutive chunks a, b that
 * overlap, b's true place in a is found by normalised cross-correlation of b's opening against a,
 * searched around where the timestamps put it (coarse at 12 kHz, then refined at 48 kHz); weak
 * correlation (silence, noise) falls back to the timestamps. The two are cut in the middle of
 * their overlap with a short crossfade, so nothing is heard twice and nothing is lost. A missing
 * chunk, or two chunks that do not overlap, leave silence as long as the timestamps say: the track
 * keeps the recording's clock (t = 0 is the first chunk's start) and the gap is listed.
 */

export const STITCH_RATE = 48_000;

export interface StitchChunk {
  chunkIndex: number;
  /** Recorded start and end, ms since the epoch. */
  startMs: number;
  endMs: number;
  /** Mono PCM at STITCH_RATE. */
  pcm: Float32Array;
}

export interface StitchTimeline {
  durationMs: number;
  /** Where each chunk's kept part lies on the track, ms. */
  chunks: { chunkIndex: number; startMs: number; endMs: number }[];
  gaps: { startMs: number; endMs: number; missingChunks: number[] }[];
}

export interface StitchOptions {
  /** How far around the timestamps' guess the correlation looks, ms. */
  searchMs?: number;
  /** Length of b's opening that is matched, ms. */
  matchMs?: number;
  /** b's first samples skipped before the match (a recorder's warm-up), ms. */
  skipMs?: number;
  /** Lowest normalised correlation that is trusted. */
  minScore?: number;
  /** Crossfade at each cut, ms. */
  fadeMs?: number;
}

const DEFAULTS: Required<StitchOptions> = { searchMs: 200, matchMs: 80, skipMs: 15, minScore: 0.6, fadeMs: 5 };
/** The shortest part of b's opening that is trusted to place it, ms. */
const MIN_MATCH_MS = 20;

/** Where b's sample 0 lies in a (samples), by correlation; null when nothing trustworthy matched. */
export function alignByCorrelation(a: Float32Array, b: Float32Array, guess: number, o: Required<StitchOptions> = DEFAULTS): { offset: number; score: number } | null {
  const rate = STITCH_RATE;
  const skip = Math.round((o.skipMs * rate) / 1000);
  const w = Math.round((o.matchMs * rate) / 1000);
  const span = Math.round((o.searchMs * rate) / 1000);
  if (b.length < skip + w) return null;
  const win = b.subarray(skip, skip + w);
  let energy = 0;
  for (const v of win) energy += v * v;
  if (Math.sqrt(energy / w) < 1e-3) return null; // silence: nothing to match
  // The real overlap can be shorter than b's opening: a stopped recorder drops its unfinished
  // frame (up to 60 ms), so a's audio may end ~60 ms after b's starts. Lags where the opening runs
  // past a's end are scored on the part inside a, down to `minMatch` of it.
  const minMatch = Math.min(w, Math.round((MIN_MATCH_MS * rate) / 1000));
  const lo = Math.max(0, guess + skip - span);
  const hi = Math.min(a.length - minMatch, guess + skip + span);
  if (hi < lo) return null;
  const score = (lag: number, step: number) => {
    let dot = 0;
    let na = 0;
    let nb = 0;
    const n = Math.min(w, a.length - lag);
    for (let i = 0; i < n; i += step) {
      const x = a[lag + i]!;
      const y = win[i]!;
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
    return dot / (Math.sqrt(na * nb) || 1);
  };
  // Coarse: every 4th lag and sample (12 kHz). A periodic sound (a voiced vowel, a tone) scores
  // almost as well one period off, so the best coarse lags are all refined at full rate, ±3
  // lags each, and the best of those wins.
  const coarse: { lag: number; s: number }[] = [];
  for (let lag = lo; lag <= hi; lag += 4) coarse.push({ lag, s: score(lag, 4) });
  coarse.sort((x, y) => y.s - x.s);
  let best = lo;
  let bestScore = -2;
  for (const c of coarse.slice(0, 24)) {
    for (let lag = Math.max(lo, c.lag - 3); lag <= Math.min(hi, c.lag + 3); lag++) {
      const s = score(lag, 1);
      if (s > bestScore) [best, bestScore] = [lag, s];
    }
  }
  if (bestScore < o.minScore) return null;
  return { offset: best - skip, score: bestScore };
}

interface Placed {
  c: StitchChunk;
  /** Track position of the chunk's sample 0. */
  pos: number;
  /** Kept part, track positions [from, to). */
  from: number;
  to: number;
}

const msToSamples = (ms: number) => Math.round((ms * STITCH_RATE) / 1000);
const samplesToMs = (n: number) => Math.round((n * 1000) / STITCH_RATE);

/**
 * Plans and assembles the track. `chunks`: the stored, decodable chunks (any order);
 * `range`: the session's chunk indices [first, last] (what is not in `chunks` is missing).
 */
export function stitch(chunks: readonly StitchChunk[], range: { first: number; last: number }, options: StitchOptions = {}): { pcm: Float32Array; timeline: StitchTimeline; alignments: { chunkIndex: number; by: "correlation" | "timestamps"; correctionMs: number }[] } {
  const o = { ...DEFAULTS, ...options };
  const sorted = [...chunks].filter((c) => c.pcm.length > 0).sort((x, y) => x.chunkIndex - y.chunkIndex);
  const gaps: StitchTimeline["gaps"] = [];
  const alignments: { chunkIndex: number; by: "correlation" | "timestamps"; correctionMs: number }[] = [];
  const missingBetween = (a: number, b: number) => Array.from({ length: Math.max(0, b - a - 1) }, (_, i) => a + 1 + i);
  if (!sorted.length) {
    const all = range.last >= range.first ? missingBetween(range.first - 1, range.last + 1) : [];
    return { pcm: new Float32Array(), timeline: { durationMs: 0, chunks: [], gaps: all.length ? [{ startMs: 0, endMs: 0, missingChunks: all }] : [] }, alignments };
  }
  const first = sorted[0]!;
  if (first.chunkIndex > range.first) gaps.push({ startMs: 0, endMs: 0, missingChunks: missingBetween(range.first - 1, first.chunkIndex) });
  const placed: Placed[] = [{ c: first, pos: 0, from: 0, to: first.pcm.length }];
  for (let i = 1; i < sorted.length; i++) {
    const prev = placed[i - 1]!;
    const b = sorted[i]!;
    const a = prev.c;
    const guess = msToSamples(b.startMs - a.startMs);
    let offset = guess;
    const consecutive = b.chunkIndex === a.chunkIndex + 1;
    const overlaps = guess < a.pcm.length;
    if (consecutive && overlaps) {
      const m = alignByCorrelation(a.pcm, b.pcm, guess, o);
      if (m) offset = m.offset;
      alignments.push({ chunkIndex: b.chunkIndex, by: m ? "correlation" : "timestamps", correctionMs: samplesToMs(offset - guess) });
    } else {
      alignments.push({ chunkIndex: b.chunkIndex, by: "timestamps", correctionMs: 0 });
    }
    // Never before the previous chunk's kept start (odd timestamps).
    const pos = Math.max(prev.from + 1, prev.pos + offset);
    const prevEnd = prev.pos + a.pcm.length;
    let from = pos;
    if (pos < prevEnd) {
      // Overlap: cut in its middle.
      const cut = Math.round((pos + prevEnd) / 2);
      prev.to = cut;
      from = cut;
    } else {
      prev.to = prevEnd;
    }
    const missing = missingBetween(a.chunkIndex, b.chunkIndex);
    if (missing.length || pos > prevEnd) gaps.push({ startMs: samplesToMs(prevEnd), endMs: samplesToMs(Math.max(prevEnd, pos)), missingChunks: missing });
    placed.push({ c: b, pos, from, to: pos + b.pcm.length });
  }
  const last = sorted[sorted.length - 1]!;
  if (last.chunkIndex < range.last) {
    const end = placed[placed.length - 1]!.to;
    gaps.push({ startMs: samplesToMs(end), endMs: samplesToMs(end), missingChunks: missingBetween(last.chunkIndex, range.last + 1) });
  }
  const total = placed[placed.length - 1]!.to;
  const pcm = new Float32Array(total);
  const fade = msToSamples(o.fadeMs);
  for (let i = 0; i < placed.length; i++) {
    const p = placed[i]!;
    pcm.set(p.c.pcm.subarray(p.from - p.pos, p.to - p.pos), p.from);
    // Crossfade into the next chunk where both hold samples around the cut.
    const next = placed[i + 1];
    if (next && next.from === p.to) {
      const half = Math.min(fade >> 1, p.to - p.from, next.to - next.from, p.to - next.pos, p.pos + p.c.pcm.length - p.to);
      for (let k = -half; k < half; k++) {
        const t = p.to + k;
        const g = (k + half) / (2 * half || 1);
        const x = p.c.pcm[t - p.pos] ?? 0;
        const y = next.c.pcm[t - next.pos] ?? 0;
        pcm[t] = (1 - g) * x + g * y;
      }
    }
  }
  return {
    pcm,
    timeline: {
      durationMs: samplesToMs(total),
      chunks: placed.map((p) => ({ chunkIndex: p.c.chunkIndex, startMs: samplesToMs(p.from), endMs: samplesToMs(p.to) })),
      gaps,
    },
    alignments,
  };
}
