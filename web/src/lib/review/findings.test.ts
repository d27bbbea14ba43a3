import { describe, expect, test } from 'bun:test';
import { groupPhrases, mergeAnalysisPages, placeFindings, trackClock, wordIndexAt } from './findings.ts';
import type { Analysis, AnalysisChunk, Timeline } from './types.ts';

const ORIGIN = '2025-12-16T10:30:00.000Z';

// Three recorded 10 s chunks, each overlapping the one before by 120 ms, windows split in the
// middle (analysis clock). The stitcher keeps each chunk from the middle of one overlap to the
// next, on the recording's clock: 0–9940, 9940–19820, 19820–29760.
function chunk(i: number, words: Array<[string, number, number]> = [], speech: Array<[number, number]> = []): AnalysisChunk {
  const start = i * 9880;
  return {
    chunk_index: i,
    processed: true,
    failed: false,
    start_ms: start,
    end_ms: start + 10_000,
    window_ms: [i === 0 ? 0 : start + 60, i === 2 ? start + 10_000 : start + 10_000 - 60],
    transcription: words.map((w) => w[0]).join(' '),
    analysis: { speech_segments: speech, transcribed: true, words: words.map(([text, s, e]) => ({ text, start_ms: s, end_ms: e, probability: 0.9 })) },
  };
}

const timeline: Pick<Timeline, 'origin' | 'chunks'> = {
  origin: ORIGIN,
  chunks: [
    { chunk_index: 0, start_ms: 0, end_ms: 9940 },
    { chunk_index: 1, start_ms: 9940, end_ms: 19_820 },
    { chunk_index: 2, start_ms: 19_820, end_ms: 29_760 },
  ],
};

function analysis(chunks: AnalysisChunk[], extra: Partial<Analysis> = {}): Analysis {
  return {
    session_id: 's',
    timeline_start: ORIGIN,
    chunks,
    frames: [],
    capture_events: [],
    summary: { chunks: { total: 3, processed: 3, failed: 0, pending: 0 }, frames: { total: 0, processed: 0, failed: 0, pending: 0, without_face: 0, black: 0, frozen: 0 }, talk_time_ms: 0, longest_silence_ms: 0, analysed_ms: 0, capture_problems: {} },
    next: null,
    ...extra,
  };
}

describe('trackClock: analysis time → track time', () => {
  const toTrack = trackClock(analysis([chunk(0), chunk(1), chunk(2)]), timeline);
  test('where the stitcher kept the recording’s clock, times stay as they are', () => {
    for (const t of [0, 5000, 9939, 9940, 15_000, 19_819, 19_820, 25_000, 29_760]) expect(toTrack(t)).toBe(t);
  });
  test('where the alignment moved a chunk, its times move with it', () => {
    const shifted = { ...timeline, chunks: [timeline.chunks[0]!, { chunk_index: 1, start_ms: 9945, end_ms: 19_825 }, { chunk_index: 2, start_ms: 19_825, end_ms: 29_765 }] };
    const t = trackClock(analysis([chunk(0), chunk(1), chunk(2)]), shifted);
    expect(t(5000)).toBe(5000);
    expect(t(15_000)).toBe(15_005);
    expect(t(25_000)).toBe(25_005);
  });
  test('the origins differ when the wall clocks say so (chunk 0 lost): analysis times move by the difference', () => {
    const late = analysis([chunk(1)], { timeline_start: '2025-12-16T10:30:09.880Z' });
    const t = trackClock({ ...late, chunks: late.chunks.map((c) => ({ ...c, start_ms: 0, end_ms: 10_000, window_ms: [0, 10_000] })) }, { origin: ORIGIN, chunks: [{ chunk_index: 1, start_ms: 9880, end_ms: 19_880 }] });
    expect(t(5000)).toBe(5000 + 9880);
  });
  test('a time in a gap moves with the chunk before it; before every chunk, with the first; no chunks: as it is', () => {
    const t = trackClock(analysis([{ ...chunk(0), window_ms: [0, 10_000] }, chunk(2)]), { origin: ORIGIN, chunks: [{ chunk_index: 0, start_ms: 0, end_ms: 10_003 }, { chunk_index: 2, start_ms: 19_760, end_ms: 29_760 }] });
    expect(t(12_000)).toBe(12_003);
    const noChunks = trackClock(analysis([]), { origin: ORIGIN, chunks: [] });
    expect(noChunks(1234)).toBe(1234);
    expect(trackClock(analysis([chunk(0)]), { origin: null, chunks: [] })(77)).toBe(77);
  });
});

test('placeFindings: words and speech on the track, frame findings by index, capture events, failed chunks', () => {
  const a = analysis(
    [chunk(0, [['hello', 400, 800]], [[300, 900]]), { ...chunk(1, [['world', 12_000, 12_400], [' ', 12_500, 12_600]]), failed: false }, { ...chunk(2), failed: true, processed: false, analysis: null }],
    {
      frames: [
        { frame_index: 0, processed: true, failed: false, chunk_index: 0, offset_ms: 0, at_ms: 0, analysis: { width: 640, height: 480, faces: [{}, {}], quality: { black: false, frozen: null } } },
        { frame_index: 1, processed: true, failed: false, chunk_index: 0, offset_ms: 2000, at_ms: 2000, analysis: { width: 640, height: 480, faces: [], quality: { black: true, frozen: true } } },
        { frame_index: 2, processed: false, failed: false, chunk_index: 0, offset_ms: 4000, at_ms: 4000, analysis: null },
      ],
      capture_events: [{ event_index: 0, kind: 'silence', phase: 'began', at: null, at_ms: 25_000 }, { event_index: 1, kind: 'x', phase: 'ended', at: null, at_ms: null }],
    },
  );
  const f = placeFindings(a, timeline);
  expect(f.words).toEqual([
    { text: 'hello', startMs: 400, endMs: 800 },
    { text: 'world', startMs: 12_000, endMs: 12_400 },
  ]);
  expect(f.speech).toEqual([[300, 900]]);
  expect(f.phrases.map((p) => p.words.map((w) => w.text))).toEqual([['hello'], ['world']]);
  expect(f.frames.get(0)).toEqual({ faces: 2, black: false, frozen: false });
  expect(f.frames.get(1)).toEqual({ faces: 0, black: true, frozen: true });
  expect(f.frames.has(2)).toBe(false);
  expect(f.events).toEqual([{ kind: 'silence', phase: 'began', atMs: 25_000 }]);
  expect(f.chunksFailed).toEqual([2]);
});

test('groupPhrases breaks at pauses and at the word limit', () => {
  const w = (s: number) => ({ text: `w${s}`, startMs: s, endMs: s + 200 });
  expect(groupPhrases([w(0), w(300), w(1500), w(1800)], 700).map((p) => [p.startMs, p.endMs, p.words.length])).toEqual([
    [0, 500, 2],
    [1500, 2000, 2],
  ]);
  expect(groupPhrases([w(0), w(300), w(600)], 700, 2).map((p) => p.words.length)).toEqual([2, 1]);
  expect(groupPhrases([])).toEqual([]);
});

test('wordIndexAt: the word being heard, else the last one before', () => {
  const words = [{ startMs: 100, endMs: 300 }, { startMs: 500, endMs: 700 }];
  expect(wordIndexAt(words, 50)).toBe(-1);
  expect(wordIndexAt(words, 200)).toBe(0);
  expect(wordIndexAt(words, 400)).toBe(0);
  expect(wordIndexAt(words, 500)).toBe(1);
  expect(wordIndexAt([], 500)).toBe(-1);
});

test('mergeAnalysisPages joins the pages’ chunks and frames and keeps the last next', () => {
  const p1 = analysis([chunk(0)], { next: { chunks_after: 0, frames_after: 0, limit: 1 } });
  const p2 = analysis([chunk(1)]);
  const m = mergeAnalysisPages([p1, p2])!;
  expect(m.chunks.map((c) => c.chunk_index)).toEqual([0, 1]);
  expect(m.next).toBeNull();
  expect(mergeAnalysisPages([])).toBeNull();
});
