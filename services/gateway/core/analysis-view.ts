/**
 * @module gateway/analysis-view
 * GET /sessions/{session_id}/analysis: the metadata service's rows (stored per chunk and per
 * frame, times relative to each chunk) turned into one session timeline. Pure.
 *
 * The timeline's zero is the earliest recorded chunk start. Consecutive chunks overlap (the
 * browser starts chunk k+1's recorder before it stops chunk k's, web/src/lib/audio-chunker.ts),
 * so each chunk owns a window of the timeline: from the middle of its overlap with the chunk
 * before to the middle of its overlap with the chunk after (its whole span where there is no
 * neighbour or no overlap). A word belongs to the chunk whose window holds its midpoint, so a
 * word heard in both chunks is listed once; speech segments are clipped to the windows, so talk
 * time counts overlapped speech once. The windows depend only on recorded times, never on which
 * chunk was analysed first.
 */

export interface ChunkTiming {
  chunkIndex: number;
  startMs: number;
  endMs: number;
  processed: boolean;
  failed: boolean;
  /** [[startMs, endMs], …] from the chunk's start, as stored; "" when none. */
  speechSegmentsJson: string;
}

export interface AnalysisPage {
  chunks: Array<{ chunkIndex: number; processed: boolean; failed: boolean; error: string; transcription: string | null; analysisJson: string; startMs: number; endMs: number }>;
  frames: Array<{ frameIndex: number; processed: boolean; failed: boolean; error: string; analysisJson: string; chunkIndex: number; offsetMs: number; timestampMs: number }>;
  moreChunks: boolean;
  moreFrames: boolean;
  timing: ChunkTiming[];
  frameCounts: { total: number; processed: number; failed: number; withoutFace: number; black: number; frozen: number };
  captureEvents: Array<{ eventIndex: number; kind: string; phase: string; atMs: number; detailJson: string }>;
  timelineStartMs: number;
}

export type Window = [from: number, to: number];

/** Each chunk's window on the absolute clock (ms since the epoch), by chunk index. */
export function chunkWindows(timing: readonly Pick<ChunkTiming, "chunkIndex" | "startMs" | "endMs">[]): Map<number, Window> {
  const sorted = [...timing].filter((t) => t.startMs > 0 && t.endMs >= t.startMs).sort((a, b) => a.chunkIndex - b.chunkIndex);
  const out = new Map<number, Window>();
  sorted.forEach((t, i) => {
    const prev = sorted[i - 1];
    const next = sorted[i + 1];
    const from = prev && prev.chunkIndex === t.chunkIndex - 1 && prev.endMs > t.startMs ? (t.startMs + prev.endMs) / 2 : t.startMs;
    const to = next && next.chunkIndex === t.chunkIndex + 1 && next.startMs < t.endMs ? (next.startMs + t.endMs) / 2 : t.endMs;
    out.set(t.chunkIndex, [from, Math.max(from, to)]);
  });
  return out;
}

interface StoredWord {
  text: string;
  start_ms: number;
  end_ms: number;
  probability: number;
}

function parse(json: string): Record<string, unknown> | null {
  if (!json) return null;
  try {
    const v = JSON.parse(json);
    return v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function segmentsOf(v: unknown): Array<[number, number]> {
  if (!Array.isArray(v)) return [];
  return v.filter((s): s is [number, number] => Array.isArray(s) && s.length === 2 && typeof s[0] === "number" && typeof s[1] === "number" && s[1] >= s[0]);
}

function wordsOf(v: unknown): StoredWord[] {
  if (!Array.isArray(v)) return [];
  return v.filter((w): w is StoredWord => !!w && typeof w === "object" && typeof (w as StoredWord).text === "string" && typeof (w as StoredWord).start_ms === "number" && typeof (w as StoredWord).end_ms === "number");
}

/** Clips [s, e] to the window; null when nothing is left. */
function clip(s: number, e: number, [from, to]: Window): [number, number] | null {
  const a = Math.max(s, from);
  const b = Math.min(e, to);
  return b > a ? [a, b] : null;
}

export interface SessionSummaryView {
  chunks: { total: number; processed: number; failed: number; pending: number };
  frames: { total: number; processed: number; failed: number; pending: number; without_face: number; black: number; frozen: number };
  /** Speech over the processed chunks, overlaps counted once, ms. */
  talk_time_ms: number;
  /** The longest run without speech inside recorded, processed audio (a missing or unprocessed chunk ends a run), ms. */
  longest_silence_ms: number;
  /** Audio on the timeline covered by processed chunks, ms. */
  analysed_ms: number;
  /** Capture problems the page reported, by kind (began events). */
  capture_problems: Record<string, number>;
}

export function summarize(page: Pick<AnalysisPage, "timing" | "frameCounts" | "captureEvents">): SessionSummaryView {
  const windows = chunkWindows(page.timing);
  const sorted = [...page.timing].sort((a, b) => a.chunkIndex - b.chunkIndex);
  let talk = 0;
  let analysed = 0;
  let longest = 0;
  // The silence run so far: since when there has been no speech, on covered, processed audio.
  let silenceFrom: number | null = null;
  let coveredTo: number | null = null;
  let prevIndex: number | null = null;
  for (const t of sorted) {
    const w = windows.get(t.chunkIndex);
    const contiguous = prevIndex !== null && t.chunkIndex === prevIndex + 1 && coveredTo !== null && w !== undefined && w[0] <= coveredTo + 1;
    prevIndex = t.chunkIndex;
    if (!t.processed || !w) {
      silenceFrom = null;
      coveredTo = null;
      continue;
    }
    if (!contiguous) silenceFrom = w[0];
    analysed += w[1] - w[0];
    const segs = segmentsOf(parse(`{"s":${t.speechSegmentsJson || "[]"}}`)?.s)
      .map(([s, e]) => clip(t.startMs + s, t.startMs + e, w))
      .filter((x): x is [number, number] => x !== null)
      .sort((a, b) => a[0] - b[0]);
    for (const [s, e] of segs) {
      talk += e - s;
      if (silenceFrom !== null) longest = Math.max(longest, s - silenceFrom);
      silenceFrom = Math.max(silenceFrom ?? e, e);
    }
    coveredTo = w[1];
    if (silenceFrom !== null) longest = Math.max(longest, w[1] - silenceFrom);
  }
  const processed = sorted.filter((t) => t.processed).length;
  const failed = sorted.filter((t) => t.failed).length;
  const f = page.frameCounts;
  const problems: Record<string, number> = {};
  for (const e of page.captureEvents) if (e.phase === "began") problems[e.kind] = (problems[e.kind] ?? 0) + 1;
  return {
    chunks: { total: sorted.length, processed, failed, pending: sorted.length - processed - failed },
    frames: { total: f.total, processed: f.processed, failed: f.failed, pending: f.total - f.processed - f.failed, without_face: f.withoutFace, black: f.black, frozen: f.frozen },
    talk_time_ms: Math.round(talk),
    longest_silence_ms: Math.round(longest),
    analysed_ms: Math.round(analysed),
    capture_problems: problems,
  };
}

const iso = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : null);

/** The JSON body of GET /sessions/{session_id}/analysis (docs/protocol.md "Analysis"). */
export function renderAnalysis(sessionId: string, page: AnalysisPage, req: { chunksAfter: number; framesAfter: number; limit: number }) {
  const t0 = page.timelineStartMs;
  const rel = (ms: number) => (t0 > 0 && ms > 0 ? Math.round(ms - t0) : null);
  const windows = chunkWindows(page.timing);
  const chunks = page.chunks.map((c) => {
    const a = c.processed ? parse(c.analysisJson) : null;
    const w = windows.get(c.chunkIndex) ?? [c.startMs, c.endMs];
    let analysis: Record<string, unknown> | null = null;
    if (a) {
      const words = wordsOf(a.words)
        .filter((x) => {
          const mid = c.startMs + (x.start_ms + x.end_ms) / 2;
          return mid >= w[0] && mid < w[1];
        })
        .map((x) => ({ text: x.text, start_ms: rel(c.startMs + x.start_ms), end_ms: rel(c.startMs + x.end_ms), probability: x.probability }));
      const speech = segmentsOf(a.speech_segments)
        .map(([s, e]) => clip(c.startMs + s, c.startMs + e, w))
        .filter((x): x is [number, number] => x !== null)
        .map(([s, e]) => [rel(s), rel(e)]);
      analysis = {
        speech_ratio: a.speech_ratio ?? null,
        rms_dbfs: a.rms_dbfs ?? null,
        peak_dbfs: a.peak_dbfs ?? null,
        clipping: a.clipping ?? null,
        clipped_ratio: a.clipped_ratio ?? null,
        duration_ms: a.duration_ms ?? null,
        speech_segments: speech,
        transcribed: a.transcribed ?? false,
        language: a.language ?? null,
        model: a.model ?? null,
        words,
      };
    }
    return {
      chunk_index: c.chunkIndex,
      processed: c.processed,
      failed: c.failed,
      ...(c.failed ? { error: c.error } : {}),
      start_ms: rel(c.startMs),
      end_ms: rel(c.endMs),
      // The part of the timeline this chunk's words and speech are reported for (overlaps split in the middle).
      window_ms: [rel(w[0]), rel(w[1])],
      transcription: c.transcription,
      analysis,
    };
  });
  const frames = page.frames.map((f) => {
    const a = f.processed ? parse(f.analysisJson) : null;
    return {
      frame_index: f.frameIndex,
      processed: f.processed,
      failed: f.failed,
      ...(f.failed ? { error: f.error } : {}),
      chunk_index: f.chunkIndex,
      offset_ms: f.offsetMs,
      at_ms: rel(f.timestampMs),
      analysis: a ? { width: a.width ?? null, height: a.height ?? null, faces: Array.isArray(a.faces) ? a.faces : [], quality: a.quality ?? null } : null,
    };
  });
  const lastChunk = page.chunks.at(-1);
  const lastFrame = page.frames.at(-1);
  return {
    session_id: sessionId,
    timeline_start: iso(t0),
    chunks,
    frames,
    capture_events: page.captureEvents.map((e) => ({ event_index: e.eventIndex, kind: e.kind, phase: e.phase, at: iso(e.atMs), at_ms: rel(e.atMs), detail: parse(e.detailJson) })),
    summary: summarize(page),
    next:
      page.moreChunks || page.moreFrames
        ? { chunks_after: lastChunk?.chunkIndex ?? req.chunksAfter, frames_after: lastFrame?.frameIndex ?? req.framesAfter, limit: req.limit }
        : null,
  };
}
