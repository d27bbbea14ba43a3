/**
 * @module shared/media/range
 * One HTTP byte range (RFC 9110 §14) of a resource of `size` bytes: `bytes=a-b`, `bytes=a-`,
 * `bytes=-n`. Pure.
 *   - absent, malformed, another unit, or several ranges → null: serve the whole body (200), as
 *     the RFC allows a server to ignore Range;
 *   - a first byte at or past the end (or a suffix of 0, or an empty resource) → "unsatisfiable" (416);
 *   - else the inclusive [start, end], end clipped to the last byte.
 */
export type ByteRange = { start: number; end: number };

const RANGE_RE = /^bytes=(\d*)-(\d*)$/;

export function parseRange(header: string | null | undefined, size: number): ByteRange | "unsatisfiable" | null {
  if (!header) return null;
  const m = RANGE_RE.exec(header.trim());
  if (!m) return null;
  const [, a, b] = m as unknown as [string, string, string];
  if (a === "" && b === "") return null;
  if (a.length > 15 || b.length > 15) return null;
  if (a === "") {
    const n = Number(b);
    if (n === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  if (b !== "" && Number(b) < start) return null;
  if (start >= size) return "unsatisfiable";
  const end = b === "" ? size - 1 : Number(b);
  return { start, end: Math.min(end, size - 1) };
}
