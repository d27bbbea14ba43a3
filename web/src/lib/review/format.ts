/**
 * @module review/format
 * Text the review pages show: clock times, durations, dates (one fixed format, so the server's
 * and the browser's render agree), and the integrity badge of a media session. Pure.
 */
import type { MediaSessionSummary, VerifyResult } from './types.ts';

/** ms → "m:ss" (or "h:mm:ss" from one hour); negative and non-finite show as 0:00. */
export function formatClock(ms: number): string {
  const total = Number.isFinite(ms) && ms > 0 ? Math.floor(ms / 1000) : 0;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** ms → "1 min 05 s", "42 s", "1 h 02 min" (rounded to the second). */
export function formatDuration(ms: number): string {
  const total = Number.isFinite(ms) && ms > 0 ? Math.round(ms / 1000) : 0;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  if (m > 0) return `${m} min ${String(s).padStart(2, '0')} s`;
  return `${s} s`;
}

/** ISO → "2025-12-16 10:30 UTC"; null/invalid → "—". */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '—';
  return `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** "1 chunk", "3 chunks". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Sorted indices as runs: [1,2,3,7] → "1–3, 7". */
export function runs(indices: readonly number[]): string {
  const s = [...new Set(indices)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j]! + 1) j++;
    out.push(i === j ? String(s[i]) : `${s[i]}–${s[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}

/** How many gaps (runs of consecutive missing indices) a list of missing chunks makes. */
export function gapCount(missing: readonly number[]): number {
  const s = [...new Set(missing)].sort((a, b) => a - b);
  return s.filter((v, i) => i === 0 || v !== s[i - 1]! + 1).length;
}

export type BadgeState = 'ok' | 'bad' | 'open' | 'unverified';

export interface Badge {
  state: BadgeState;
  text: string;
}

/**
 * The integrity badge: what verify found when it has run, else what is known before it
 * ("not sealed yet" while the session is open; sealed, with its gaps, but not verified yet).
 */
export function integrityBadge(session: Pick<MediaSessionSummary, 'sealed' | 'status' | 'total_chunks'>, verify: VerifyResult | null, gaps?: number): Badge {
  if (verify) {
    const g = gapCount(verify.missing_chunks);
    const counts = `${plural(verify.chunks, 'chunk')}, ${plural(g, 'gap')}`;
    if (verify.ok && verify.mismatched.length === 0 && verify.missing_chunks.length === 0 && verify.missing_frames.length === 0) {
      return { state: 'ok', text: `complete, ${counts}, hashes match` };
    }
    const what: string[] = [];
    if (verify.manifest_intact === false) what.push('the manifest was changed');
    if (verify.missing_chunks.length) what.push(`missing ${verify.missing_chunks.length === 1 ? 'chunk' : 'chunks'} ${runs(verify.missing_chunks)}`);
    if (verify.missing_frames.length) what.push(`missing ${verify.missing_frames.length === 1 ? 'frame' : 'frames'} ${runs(verify.missing_frames)}`);
    const byKind = new Map<string, number[]>();
    for (const m of verify.mismatched) {
      const kind = m.kind === 'audio' ? 'chunk' : m.kind;
      byKind.set(kind, [...(byKind.get(kind) ?? []), m.index]);
    }
    for (const [kind, idx] of byKind) what.push(`${kind} ${runs(idx)} ${idx.length === 1 ? 'differs' : 'differ'} from the manifest`);
    if (verify.ok && verify.mismatched.length === 0 && verify.manifest_intact !== false) return { state: 'ok', text: `complete as sealed, ${counts}, hashes match (${what.join('; ')})` };
    if (what.length === 0) what.push('verify failed');
    return { state: 'bad', text: `${counts}: ${what.join('; ')}` };
  }
  if (!session.sealed) return { state: 'open', text: session.status === 'completed' ? 'not sealed yet' : `not sealed yet (${session.status})` };
  return { state: 'unverified', text: `sealed, ${plural(session.total_chunks, 'chunk')}${gaps === undefined ? '' : `, ${plural(gaps, 'gap')}`}; not verified yet` };
}
