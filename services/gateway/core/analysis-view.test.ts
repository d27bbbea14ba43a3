import { describe, expect, test } from "bun:test";
import { type AnalysisPage, chunkWindows, renderAnalysis, summarize } from "./analysis-view";

const T0 = 1_700_000_000_000;
/** Chunks of 10.3 s starting every 10 s: 300 ms overlaps, like the browser's. */
const timing = (n: number, over: Partial<{ processed: boolean; segs: Record<number, Array<[number, number]>> }> = {}) =>
  [...Array(n).keys()].map((i) => ({
    chunkIndex: i,
    startMs: T0 + i * 10_000,
    endMs: T0 + i * 10_000 + 10_300,
    processed: over.processed ?? true,
    failed: false,
    speechSegmentsJson: JSON.stringify(over.segs?.[i] ?? []),
  }));

const noFrames = { total: 0, processed: 0, failed: 0, withoutFace: 0, black: 0, frozen: 0 };

describe("chunk windows", () => {
  test("overlaps are split in the middle; the ends keep their whole span", () => {
    const w = chunkWindows(timing(3));
    expect(w.get(0)).toEqual([T0, T0 + 10_150]);
    expect(w.get(1)).toEqual([T0 + 10_150, T0 + 20_150]);
    expect(w.get(2)).toEqual([T0 + 20_150, T0 + 30_300]);
  });
  test("a missing chunk leaves its neighbours whole; a gap is not an overlap", () => {
    const t = timing(4).filter((c) => c.chunkIndex !== 1);
    const w = chunkWindows(t);
    expect(w.get(0)).toEqual([T0, T0 + 10_300]);
    expect(w.get(2)).toEqual([T0 + 20_000, T0 + 30_150]);
    const gap = chunkWindows([
      { chunkIndex: 0, startMs: T0, endMs: T0 + 10_000 },
      { chunkIndex: 1, startMs: T0 + 12_000, endMs: T0 + 22_000 },
    ]);
    expect(gap.get(0)).toEqual([T0, T0 + 10_000]);
    expect(gap.get(1)).toEqual([T0 + 12_000, T0 + 22_000]);
  });
  test("windows never overlap and do not depend on the order rows come in", () => {
    const t = timing(6);
    const a = chunkWindows(t);
    const b = chunkWindows([...t].reverse());
    expect([...a.entries()].sort()).toEqual([...b.entries()].sort());
    const ws = [...a.values()].sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < ws.length; i++) expect(ws[i]![0]).toBeGreaterThanOrEqual(ws[i - 1]![1]);
  });
});

describe("words in the overlap are kept once", () => {
  test("a word heard at the end of chunk 0 and the start of chunk 1 is listed by one of them", () => {
    const t = timing(2);
    // "hello" spans 10.05-10.25 s of the session: inside both chunks (chunk 1 starts at 10.0 s).
    const page: AnalysisPage = {
      chunks: [
        { chunkIndex: 0, processed: true, failed: false, error: "", transcription: "so hello", analysisJson: JSON.stringify({ words: [{ text: "so", start_ms: 9000, end_ms: 9400, probability: 0.9 }, { text: "hello", start_ms: 10_050, end_ms: 10_250, probability: 0.8 }] }), startMs: T0, endMs: T0 + 10_300 },
        { chunkIndex: 1, processed: true, failed: false, error: "", transcription: "hello there", analysisJson: JSON.stringify({ words: [{ text: "hello", start_ms: 50, end_ms: 250, probability: 0.7 }, { text: "there", start_ms: 400, end_ms: 800, probability: 0.9 }] }), startMs: T0 + 10_000, endMs: T0 + 20_300 },
      ],
      frames: [],
      moreChunks: false,
      moreFrames: false,
      timing: t,
      frameCounts: noFrames,
      captureEvents: [],
      timelineStartMs: T0,
    };
    const body = renderAnalysis("s", page, { chunksAfter: -1, framesAfter: -1, limit: 100 });
    const words = body.chunks.flatMap((c) => (c.analysis?.words as Array<{ text: string; start_ms: number }>).map((w) => `${w.text}@${w.start_ms}`));
    expect(words).toEqual(["so@9000", "hello@10050", "there@10400"]);
    expect(body.chunks[1]!.window_ms).toEqual([10_150, 20_300]);
    expect(body.next).toBeNull();
  });
});

describe("summary", () => {
  test("talk time counts overlapped speech once; longest silence runs across chunk boundaries", () => {
    // speech 1-3 s, then 9.8-10.3 s in chunk 0 == 0-0.3 s in chunk 1 (the overlap), then 15-16 s.
    const t = timing(2, { segs: { 0: [[1000, 3000], [9800, 10_300]], 1: [[0, 300], [5000, 6000]] } });
    const s = summarize({ timing: t, frameCounts: noFrames, captureEvents: [] });
    expect(s.talk_time_ms).toBe(2000 + 500 + 1000);
    // silences: 3 -> 9.8 s (6.8 s), 10.3 -> 15 s (4.7 s, across the boundary), 16 -> 20.3 s
    expect(s.longest_silence_ms).toBe(6800);
    const shifted = summarize({ timing: timing(2, { segs: { 0: [[1000, 8000], [9800, 10_300]], 1: [[0, 300], [5000, 6000]] } }), frameCounts: noFrames, captureEvents: [] });
    expect(shifted.longest_silence_ms).toBe(4700);
    expect(s.analysed_ms).toBe(20_300);
    expect(s.chunks).toEqual({ total: 2, processed: 2, failed: 0, pending: 0 });
  });
  test("an unprocessed or missing chunk ends a silence run instead of adding to it", () => {
    const t = timing(3, { segs: { 0: [[0, 1000]], 2: [[9000, 10_000]] } });
    t[1]!.processed = false;
    const s = summarize({ timing: t, frameCounts: noFrames, captureEvents: [] });
    expect(s.longest_silence_ms).toBe(10_150 - 1000);
    expect(s.chunks.pending).toBe(1);
  });
  test("capture problems are counted by kind", () => {
    const ev = (i: number, kind: string, phase: string) => ({ eventIndex: i, kind, phase, atMs: T0 + i, detailJson: "" });
    const s = summarize({ timing: [], frameCounts: noFrames, captureEvents: [ev(0, "silence", "began"), ev(1, "silence", "ended"), ev(2, "silence", "began"), ev(3, "tab_hidden", "began")] });
    expect(s.capture_problems).toEqual({ silence: 2, tab_hidden: 1 });
  });
});

describe("paging", () => {
  test("next names what follows this page for each kind", () => {
    const page: AnalysisPage = {
      chunks: [{ chunkIndex: 4, processed: false, failed: false, error: "", transcription: null, analysisJson: "", startMs: T0, endMs: T0 + 10_000 }],
      frames: [],
      moreChunks: true,
      moreFrames: false,
      timing: timing(1),
      frameCounts: noFrames,
      captureEvents: [],
      timelineStartMs: T0,
    };
    expect(renderAnalysis("s", page, { chunksAfter: 3, framesAfter: 20, limit: 1 }).next).toEqual({ chunks_after: 4, frames_after: 20, limit: 1 });
  });
});
