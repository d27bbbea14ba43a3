import { describe, expect, test } from "bun:test";
import { wordsFromVerboseJson } from "./transcriber-openai";

describe("wordsFromVerboseJson", () => {
  test("takes `words` when the server sends them (seconds -> ms, trimmed, empty dropped)", () => {
    expect(
      wordsFromVerboseJson({
        words: [
          { word: " Hello", start: 0.12, end: 0.5 },
          { word: "world.", start: 0.5, end: 0.9991, probability: 0.8 },
          { word: " ", start: 1, end: 1 },
        ],
        segments: [{ start: 0, end: 9, text: "ignored" }],
      }),
    ).toEqual([
      { text: "Hello", startMs: 120, endMs: 500, probability: 1 },
      { text: "world.", startMs: 500, endMs: 999, probability: 0.8 },
    ]);
  });
  test("falls back to segments: words share the segment's span by character count", () => {
    // "ab" and "cdef": 6 characters over 600 ms -> 200 ms and 400 ms
    const words = wordsFromVerboseJson({ segments: [{ start: 1, end: 1.6, text: " ab cdef ", avg_logprob: Math.log(0.5) }] });
    expect(words).toEqual([
      { text: "ab", startMs: 1000, endMs: 1200, probability: 0.5 },
      { text: "cdef", startMs: 1200, endMs: 1600, probability: 0.5 },
    ]);
  });
  test("nothing heard: no words", () => {
    expect(wordsFromVerboseJson({ text: "", segments: [] })).toEqual([]);
    expect(wordsFromVerboseJson({ text: "", words: [] })).toEqual([]);
  });
});
