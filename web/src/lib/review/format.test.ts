import { describe, expect, test } from 'bun:test';
import { formatClock, formatDate, formatDuration, gapCount, integrityBadge, plural, runs } from './format.ts';

test('formatClock', () => {
  expect(formatClock(0)).toBe('0:00');
  expect(formatClock(65_999)).toBe('1:05');
  expect(formatClock(3_600_000 + 62_000)).toBe('1:01:02');
  expect(formatClock(-5)).toBe('0:00');
  expect(formatClock(Number.NaN)).toBe('0:00');
});

test('formatDuration', () => {
  expect(formatDuration(42_400)).toBe('42 s');
  expect(formatDuration(65_000)).toBe('1 min 05 s');
  expect(formatDuration(3_720_000)).toBe('1 h 02 min');
  expect(formatDuration(0)).toBe('0 s');
});

test('formatDate is fixed (UTC), and a missing date is a dash', () => {
  expect(formatDate('2025-12-16T10:30:59.999Z')).toBe('2025-12-16 10:30 UTC');
  expect(formatDate(null)).toBe('—');
  expect(formatDate('nope')).toBe('—');
});

test('plural, runs, gapCount', () => {
  expect(plural(1, 'chunk')).toBe('1 chunk');
  expect(plural(0, 'gap')).toBe('0 gaps');
  expect(runs([7, 1, 3, 2, 2])).toBe('1–3, 7');
  expect(runs([])).toBe('');
  expect(gapCount([4, 5, 9])).toBe(2);
  expect(gapCount([])).toBe(0);
});

describe('integrityBadge', () => {
  const sealed = { sealed: true, status: 'completed', total_chunks: 3 };
  const clean = { ok: true, chunks: 3, frames: 15, missing_chunks: [], missing_frames: [], mismatched: [] };
  test('verified and clean', () => {
    expect(integrityBadge(sealed, clean)).toEqual({ state: 'ok', text: 'complete, 3 chunks, 0 gaps, hashes match' });
  });
  test('a changed chunk and a deleted frame are named', () => {
    const b = integrityBadge(sealed, { ...clean, ok: false, missing_frames: [4], mismatched: [{ kind: 'audio', index: 2 }, { kind: 'frame', index: 5 }, { kind: 'frame', index: 6 }] });
    expect(b).toEqual({ state: 'bad', text: '3 chunks, 0 gaps: missing frame 4; chunk 2 differs from the manifest; frame 5–6 differ from the manifest' });
  });
  test('missing chunks are counted as gaps and listed', () => {
    const b = integrityBadge(sealed, { ...clean, ok: false, missing_chunks: [1, 2, 5] });
    expect(b.state).toBe('bad');
    expect(b.text).toBe('3 chunks, 2 gaps: missing chunks 1–2, 5');
  });
  test('a changed manifest is said first; a failure with nothing listed still says so', () => {
    expect(integrityBadge(sealed, { ...clean, ok: false, manifest_intact: false }).text).toBe('3 chunks, 0 gaps: the manifest was changed');
    expect(integrityBadge(sealed, { ...clean, ok: false })).toEqual({ state: 'bad', text: '3 chunks, 0 gaps: verify failed' });
  });
  test('a recording sealed with holes that are all as the manifest says is ok, and says so', () => {
    const b = integrityBadge(sealed, { ...clean, missing_chunks: [1] });
    expect(b).toEqual({ state: 'ok', text: 'complete as sealed, 3 chunks, 1 gap, hashes match (missing chunk 1)' });
  });
  test('before verify: open sessions are not sealed yet; sealed ones say what they hold', () => {
    expect(integrityBadge({ sealed: false, status: 'active', total_chunks: 2 }, null)).toEqual({ state: 'open', text: 'not sealed yet (active)' });
    expect(integrityBadge({ sealed: false, status: 'completed', total_chunks: 2 }, null).text).toBe('not sealed yet');
    expect(integrityBadge(sealed, null, 0)).toEqual({ state: 'unverified', text: 'sealed, 3 chunks, 0 gaps; not verified yet' });
    expect(integrityBadge(sealed, null).text).toBe('sealed, 3 chunks; not verified yet');
  });
});
