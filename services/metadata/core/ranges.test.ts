import { describe, expect, test } from "bun:test";
import { indexRanges, storedRanges } from "./ranges";

describe("indexRanges", () => {
  test("runs, gaps and single items, in any order", () => {
    expect(indexRanges([0, 1, 2, 4, 5, 6, 7, 8, 9], 1000)).toEqual({ ranges: [[0, 2], [4, 9]], truncated: false });
    expect(indexRanges([9, 3, 1, 2, 2, 7], 1000)).toEqual({ ranges: [[1, 3], [7, 7], [9, 9]], truncated: false });
    expect(indexRanges([], 1000)).toEqual({ ranges: [], truncated: false });
    expect(indexRanges([4_294_967_295], 1000)).toEqual({ ranges: [[4_294_967_295, 4_294_967_295]], truncated: false });
  });

  test("past max ranges: the lowest max, and truncated", () => {
    expect(indexRanges([0, 2, 4, 6], 3)).toEqual({ ranges: [[0, 0], [2, 2], [4, 4]], truncated: true });
    expect(indexRanges([0, 2, 4, 5], 2)).toEqual({ ranges: [[0, 0], [2, 2]], truncated: true });
    // exactly max ranges, the last one growing: not truncated
    expect(indexRanges([0, 2, 4, 5, 6], 3)).toEqual({ ranges: [[0, 0], [2, 2], [4, 6]], truncated: false });
  });

  test("storedRanges: both kinds", () => {
    expect(storedRanges([0, 1, 3], [], 10)).toEqual({ chunks: [[0, 1], [3, 3]], frames: [], chunksTruncated: false, framesTruncated: false });
  });
});
