import { describe, expect, test } from "bun:test";
import { parseRange } from "./range";

describe("parseRange", () => {
  test("the three forms, clipped to the resource", () => {
    expect(parseRange("bytes=0-99", 1000)).toEqual({ start: 0, end: 99 });
    expect(parseRange("bytes=500-", 1000)).toEqual({ start: 500, end: 999 });
    expect(parseRange("bytes=-100", 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange("bytes=-5000", 1000)).toEqual({ start: 0, end: 999 });
    expect(parseRange("bytes=900-5000", 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange(" bytes=1-1 ", 2)).toEqual({ start: 1, end: 1 });
  });
  test("past the end, an empty suffix or an empty resource: unsatisfiable", () => {
    expect(parseRange("bytes=1000-", 1000)).toBe("unsatisfiable");
    expect(parseRange("bytes=1000-1001", 1000)).toBe("unsatisfiable");
    expect(parseRange("bytes=-0", 1000)).toBe("unsatisfiable");
    expect(parseRange("bytes=0-", 0)).toBe("unsatisfiable");
  });
  test("absent, malformed, other units, several ranges, reversed: the whole body", () => {
    for (const h of [null, undefined, "", "bytes=", "bytes=-", "items=0-1", "bytes=0-1,5-6", "bytes=5-1", "bytes=a-b", "bytes=1234567890123456-"]) expect(parseRange(h, 1000)).toBeNull();
  });
});
