/**
 * @module metadata/core/ranges
 * What a resumed session already holds, as inclusive index ranges (media.v1 StoredRanges): the
 * maximal runs of consecutive indices, ascending, at most `max` of them per kind. PgSessionRepo
 * computes the same in SQL (gaps and islands); this is the reference the memory repository and
 * the unit tests use.
 */
import type { IndexRange, StoredRanges } from "./model";

/** Ranges listed per kind at most (the protocol's MAX_STORED_RANGES, session_init_ack `stored`). */
export { MAX_STORED_RANGES } from "../../../proto/wire/messages";

/** The runs of `indices` (any order, duplicates allowed), the lowest `max` of them, and whether there were more. */
export function indexRanges(indices: Iterable<number>, max: number): { ranges: IndexRange[]; truncated: boolean } {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const ranges: IndexRange[] = [];
  for (const i of sorted) {
    const last = ranges.at(-1);
    if (last && last[1] === i - 1) last[1] = i;
    else if (ranges.length === max) return { ranges, truncated: true };
    else ranges.push([i, i]);
  }
  return { ranges, truncated: false };
}

/** Both kinds at once. */
export function storedRanges(chunkIndices: Iterable<number>, frameIndices: Iterable<number>, max: number): StoredRanges {
  const c = indexRanges(chunkIndices, max);
  const f = indexRanges(frameIndices, max);
  return { chunks: c.ranges, frames: f.ranges, chunksTruncated: c.truncated, framesTruncated: f.truncated };
}
