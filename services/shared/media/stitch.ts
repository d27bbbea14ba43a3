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

const msToSamples = (ms: number) => Math.round((ms * STITCH_RATE) / 1000);
const samplesToMs = (n: number) => Math.round((n * 1000) / STITCH_RATE);

export type Alignment = { chunkIndex: number; by: "correlation" | "timestamps"; correctionMs: number };

/** The previous chunk, still open: its end is decided by the next one. */
interface Open {
  c: StitchChunk;
  /** Track position of the chunk's sample 0. */
  pos: number;
  /** Where its kept part starts on the track (a boundary), and how far the track is written. */
  from: number;
  emitted: number;
}

const ZEROS = new Float32Array(STITCH_RATE);

/**
 * Builds the track one chunk at a time, in index order, handing finished samples to `sink` as it
 * goes: it holds two chunks' PCM at most, so a long interview costs the memory of two chunks, not
 * of the whole track. `add` the stored, decodable chunks; `finish` says where everything lies.
 */
export class TrackBuilder {
  private readonly o: Required<StitchOptions>;
  private open: Open | null = null;
  private written = 0;
  private lastIndex: number | null = null;
  private readonly chunks: StitchTimeline["chunks"] = [];
  private readonly gaps: StitchTimeline["gaps"] = [];
  readonly alignments: Alignment[] = [];

  constructor(
    private readonly range: { first: number; last: number },
    private readonly sink: (samples: Float32Array) => void,
    options: StitchOptions = {},
  ) {
    this.o = { ...DEFAULTS, ...options };
  }

  private write(samples: Float32Array): void {
    if (!samples.length) return;
    this.sink(samples);
    this.written += samples.length;
  }

  private silence(n: number): void {
    for (let left = n; left > 0; left -= ZEROS.length) this.write(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
  }

  /** Writes the open chunk's samples up to track position `to`. */
  private writeOpenTo(to: number): void {
    const p = this.open!;
    if (to > p.emitted) this.write(p.c.pcm.subarray(p.emitted - p.pos, to - p.pos));
    p.emitted = Math.max(p.emitted, to);
  }

  private static missingBetween(a: number, b: number): number[] {
    return Array.from({ length: Math.max(0, b - a - 1) }, (_, i) => a + 1 + i);
  }

  add(b: StitchChunk): void {
    if (!b.pcm.length) return;
    if (this.lastIndex !== null && b.chunkIndex <= this.lastIndex) throw new RangeError("chunks must be added in increasing index order");
    const prev = this.open;
    if (!prev) {
      if (b.chunkIndex > this.range.first) this.gaps.push({ startMs: 0, endMs: 0, missingChunks: TrackBuilder.missingBetween(this.range.first - 1, b.chunkIndex) });
      this.open = { c: b, pos: 0, from: 0, emitted: 0 };
      this.lastIndex = b.chunkIndex;
      return;
    }
    const a = prev.c;
    const guess = msToSamples(b.startMs - a.startMs);
    let offset = guess;
    if (b.chunkIndex === a.chunkIndex + 1 && guess < a.pcm.length) {
      const m = alignByCorrelation(a.pcm, b.pcm, guess, this.o);
      if (m) offset = m.offset;
      this.alignments.push({ chunkIndex: b.chunkIndex, by: m ? "correlation" : "timestamps", correctionMs: samplesToMs(offset - guess) });
    } else {
      this.alignments.push({ chunkIndex: b.chunkIndex, by: "timestamps", correctionMs: 0 });
    }
    // Never before what is already on the track (odd timestamps).
    const pos = Math.max(prev.emitted + 1, prev.pos + offset);
    const prevEnd = prev.pos + a.pcm.length;
    let boundary: number;
    let emitted: number;
    if (pos < prevEnd) {
      // Overlap: cut in its middle, with a short crossfade where both hold samples.
      const cut = Math.max(prev.emitted, Math.round((pos + prevEnd) / 2));
      const half = Math.max(0, Math.min(msToSamples(this.o.fadeMs) >> 1, cut - prev.emitted, prevEnd - cut, cut - pos, pos + b.pcm.length - cut));
      this.writeOpenTo(cut - half);
      if (half > 0) {
        const fade = new Float32Array(2 * half);
        for (let k = 0; k < 2 * half; k++) {
          const t = cut - half + k;
          const g = k / (2 * half);
          fade[k] = (1 - g) * a.pcm[t - prev.pos]! + g * b.pcm[t - pos]!;
        }
        this.write(fade);
      }
      boundary = cut;
      emitted = cut + half;
    } else {
      this.writeOpenTo(prevEnd);
      this.silence(pos - prevEnd);
      boundary = pos;
      emitted = pos;
    }
    const missing = TrackBuilder.missingBetween(a.chunkIndex, b.chunkIndex);
    if (missing.length || pos > prevEnd) this.gaps.push({ startMs: samplesToMs(prevEnd), endMs: samplesToMs(Math.max(prevEnd, pos)), missingChunks: missing });
    this.chunks.push({ chunkIndex: a.chunkIndex, startMs: samplesToMs(prev.from), endMs: samplesToMs(boundary) });
    this.open = { c: b, pos, from: boundary, emitted };
    this.lastIndex = b.chunkIndex;
  }

  /** Writes the rest; the timeline of what was written. */
  finish(): StitchTimeline {
    const p = this.open;
    if (!p) {
      const all = this.range.last >= this.range.first ? TrackBuilder.missingBetween(this.range.first - 1, this.range.last + 1) : [];
      return { durationMs: 0, chunks: [], gaps: all.length ? [{ startMs: 0, endMs: 0, missingChunks: all }] : [] };
    }
    const end = p.pos + p.c.pcm.length;
    this.writeOpenTo(end);
    this.chunks.push({ chunkIndex: p.c.chunkIndex, startMs: samplesToMs(p.from), endMs: samplesToMs(end) });
    if (p.c.chunkIndex < this.range.last) this.gaps.push({ startMs: samplesToMs(end), endMs: samplesToMs(end), missingChunks: TrackBuilder.missingBetween(p.c.chunkIndex, this.range.last + 1) });
    this.open = null;
    return { durationMs: samplesToMs(this.written), chunks: this.chunks, gaps: this.gaps };
  }
}

/**
 * The whole track in memory (tests, short sessions). `chunks`: the stored, decodable chunks (any
 * order); `range`: the session's chunk indices [first, last] (what is not in `chunks` is missing).
 */
export function stitch(chunks: readonly StitchChunk[], range: { first: number; last: number }, options: StitchOptions = {}): { pcm: Float32Array; timeline: StitchTimeline; alignments: Alignment[] } {
  const parts: Float32Array[] = [];
  const builder = new TrackBuilder(range, (s) => parts.push(s.slice()), options);
  for (const c of [...chunks].sort((x, y) => x.chunkIndex - y.chunkIndex)) builder.add(c);
  const timeline = builder.finish();
  const pcm = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    pcm.set(p, at);
    at += p.length;
  }
  return { pcm, timeline, alignments: builder.alignments };
}
