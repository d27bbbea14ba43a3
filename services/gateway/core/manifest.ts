/**
 * @module gateway/manifest
 * A session's integrity manifest (issue 12): what was stored, byte for byte, and what is missing.
 * Pure: the caller passes the rows (metadata ReviewService) and a SHA-256 function.
 *
 *   {"format":"candid-manifest/1","session_id","interview_session_id","user_id",
 *    "announced":{"chunks","frames"}|null,
 *    "chunks":[{"index","size","sha256","start","end","duration_ms","chain"}],
 *    "frames":[{"index","chunk_index","size","sha256","timestamp","offset_ms","chain"}],
 *    "missing_chunks":[…],"missing_frames":[…],"chain_head"}
 *
 * The hash chain: h₀ = SHA-256("candid-manifest/1\n" + session_id); every entry, chunks in index
 * order then frames, is one canonical line ("a|index|size|sha256|start|end|duration" or
 * "f|index|chunk|size|sha256|timestamp|offset") and hᵢ = SHA-256(hᵢ₋₁ + "\n" + line); an entry's
 * `chain` is its hᵢ and `chain_head` the last one (h₀ without entries), followed by the missing
 * lists: "m|a|<indices>" and "m|f|<indices>". Changing, removing or reordering any entry changes
 * every later link and the head. The manifest's own SHA-256 is recorded in PostgreSQL at sealing,
 * so a manifest rewritten in storage no longer matches.
 *
 * Deterministic: the same rows give the same bytes, so sealing twice writes the same blob.
 * Missing indices: against the totals session_complete announced; without them (sealed later,
 * when the seal at session_complete failed and the manifest route seals), the holes below the
 * highest stored index.
 */
import type { StoredChunk, StoredFrame } from "../../shared/review";

export const MANIFEST_FORMAT = "candid-manifest/1";

export interface ManifestChunk {
  index: number;
  size: number;
  sha256: string;
  start: string | null;
  end: string | null;
  duration_ms: number;
  chain: string;
}

export interface ManifestFrame {
  index: number;
  chunk_index: number;
  size: number;
  sha256: string;
  timestamp: string | null;
  offset_ms: number;
  chain: string;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  session_id: string;
  interview_session_id: number | null;
  user_id: number | null;
  announced: { chunks: number; frames: number } | null;
  chunks: ManifestChunk[];
  frames: ManifestFrame[];
  missing_chunks: number[];
  missing_frames: number[];
  chain_head: string;
}

export interface ManifestInput {
  sessionId: string;
  interviewSessionId: number | null;
  userId: number | null;
  announced: { chunks: number; frames: number } | null;
  chunks: readonly StoredChunk[];
  frames: readonly StoredFrame[];
}

type Sha = (text: string) => string;

const iso = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : null);

/** Indices in [0, total) that are not in `have` (sorted ascending). */
export function missingIndices(total: number, have: readonly number[]): number[] {
  const set = new Set(have);
  const out: number[] = [];
  for (let i = 0; i < total; i++) if (!set.has(i)) out.push(i);
  return out;
}

const chunkLine = (c: Omit<ManifestChunk, "chain">) => `a|${c.index}|${c.size}|${c.sha256}|${c.start ?? ""}|${c.end ?? ""}|${c.duration_ms}`;
const frameLine = (f: Omit<ManifestFrame, "chain">) => `f|${f.index}|${f.chunk_index}|${f.size}|${f.sha256}|${f.timestamp ?? ""}|${f.offset_ms}`;

/** The chain over the entries as they stand; `links` has one hash per chunk then per frame. */
export function chainOf(sessionId: string, chunks: readonly Omit<ManifestChunk, "chain">[], frames: readonly Omit<ManifestFrame, "chain">[], missing: { chunks: readonly number[]; frames: readonly number[] }, sha: Sha) {
  let h = sha(`${MANIFEST_FORMAT}\n${sessionId}`);
  const links: string[] = [];
  for (const c of chunks) links.push((h = sha(`${h}\n${chunkLine(c)}`)));
  for (const f of frames) links.push((h = sha(`${h}\n${frameLine(f)}`)));
  h = sha(`${h}\nm|a|${missing.chunks.join(",")}`);
  h = sha(`${h}\nm|f|${missing.frames.join(",")}`);
  return { links, head: h };
}

export function buildManifest(input: ManifestInput, sha: Sha): { manifest: Manifest; bytes: Uint8Array } {
  const chunks = [...input.chunks].sort((a, b) => a.chunkIndex - b.chunkIndex).map((c) => ({
    index: c.chunkIndex,
    size: c.fileSize,
    sha256: c.sha256Hex,
    start: iso(c.startMs),
    end: iso(c.endMs),
    duration_ms: c.durationMs,
  }));
  const frames = [...input.frames].sort((a, b) => a.frameIndex - b.frameIndex).map((f) => ({
    index: f.frameIndex,
    chunk_index: f.chunkIndex,
    size: f.fileSize,
    sha256: f.sha256Hex,
    timestamp: iso(f.timestampMs),
    offset_ms: f.offsetMs,
  }));
  const upTo = (xs: readonly { index: number }[]) => (xs.length ? xs[xs.length - 1]!.index + 1 : 0);
  const chunkTotal = Math.max(input.announced?.chunks ?? 0, upTo(chunks));
  const frameTotal = Math.max(input.announced?.frames ?? 0, upTo(frames));
  const missing = { chunks: missingIndices(chunkTotal, chunks.map((c) => c.index)), frames: missingIndices(frameTotal, frames.map((f) => f.index)) };
  const { links, head } = chainOf(input.sessionId, chunks, frames, missing, sha);
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    session_id: input.sessionId,
    interview_session_id: input.interviewSessionId,
    user_id: input.userId,
    announced: input.announced,
    chunks: chunks.map((c, i) => ({ ...c, chain: links[i]! })),
    frames: frames.map((f, i) => ({ ...f, chain: links[chunks.length + i]! })),
    missing_chunks: missing.chunks,
    missing_frames: missing.frames,
    chain_head: head,
  };
  return { manifest, bytes: new TextEncoder().encode(`${JSON.stringify(manifest, null, 1)}\n`) };
}

/** Parses stored manifest bytes; null when they are not a manifest of this format. */
export function parseManifest(bytes: Uint8Array): Manifest | null {
  try {
    const m = JSON.parse(new TextDecoder().decode(bytes)) as Manifest;
    if (m?.format !== MANIFEST_FORMAT || !Array.isArray(m.chunks) || !Array.isArray(m.frames)) return null;
    return m;
  } catch {
    return null;
  }
}

/** True when the manifest's chain recomputes to its links and head (nothing edited in it). */
export function chainIntact(m: Manifest, sha: Sha): boolean {
  const strip = <T extends { chain: string }>({ chain: _c, ...rest }: T) => rest;
  const { links, head } = chainOf(m.session_id, m.chunks.map(strip), m.frames.map(strip), { chunks: m.missing_chunks, frames: m.missing_frames }, sha);
  return head === m.chain_head && links.every((l, i) => l === (i < m.chunks.length ? m.chunks[i]!.chain : m.frames[i - m.chunks.length]!.chain));
}

export type ItemKind = "audio" | "frame";

/** What re-reading the blobs found, per item: its bytes' hash and size, or absent. */
export type ReadBack = { kind: ItemKind; index: number; found: false } | { kind: ItemKind; index: number; found: true; sha256: string; size: number };

export interface VerifyReport {
  ok: boolean;
  sealed: boolean;
  /** The manifest blob's SHA-256 is the one PostgreSQL recorded, and its chain is intact (true when unsealed: nothing to compare). */
  manifest_intact: boolean;
  chunks: number;
  frames: number;
  missing_chunks: number[];
  missing_frames: number[];
  mismatched: { kind: ItemKind; index: number }[];
}

/**
 * Compares what storage holds now with the manifest's entries: an entry whose blob is gone is
 * missing, one whose bytes differ mismatched; the manifest's own missing indices stay missing.
 */
export function verifyAgainst(m: Pick<Manifest, "chunks" | "frames" | "missing_chunks" | "missing_frames">, read: readonly ReadBack[], opts: { sealed: boolean; manifestIntact: boolean }): VerifyReport {
  const byKey = new Map(read.map((r) => [`${r.kind}:${r.index}`, r]));
  const missingChunks = [...m.missing_chunks];
  const missingFrames = [...m.missing_frames];
  const mismatched: VerifyReport["mismatched"] = [];
  const check = (kind: ItemKind, e: { index: number; sha256: string; size: number }, missing: number[]) => {
    const r = byKey.get(`${kind}:${e.index}`);
    if (!r || !r.found) missing.push(e.index);
    else if (r.sha256 !== e.sha256 || r.size !== e.size) mismatched.push({ kind, index: e.index });
  };
  for (const c of m.chunks) check("audio", c, missingChunks);
  for (const f of m.frames) check("frame", f, missingFrames);
  missingChunks.sort((a, b) => a - b);
  missingFrames.sort((a, b) => a - b);
  return {
    ok: opts.manifestIntact && missingChunks.length === 0 && missingFrames.length === 0 && mismatched.length === 0,
    sealed: opts.sealed,
    manifest_intact: opts.manifestIntact,
    chunks: m.chunks.length,
    frames: m.frames.length,
    missing_chunks: missingChunks,
    missing_frames: missingFrames,
    mismatched,
  };
}

/** One line for people: "complete, 3 chunks, 0 gaps, hashes match", or what differs. */
export function verifySentence(r: VerifyReport): string {
  if (r.ok) return `complete, ${r.chunks} chunks, ${r.frames} frames, 0 gaps, hashes match`;
  const parts: string[] = [];
  if (!r.manifest_intact) parts.push("the manifest was changed");
  if (r.missing_chunks.length) parts.push(`missing chunks ${r.missing_chunks.join(", ")}`);
  if (r.missing_frames.length) parts.push(`missing frames ${r.missing_frames.join(", ")}`);
  if (r.mismatched.length) parts.push(`changed: ${r.mismatched.map((x) => `${x.kind} ${x.index}`).join(", ")}`);
  return parts.join("; ");
}
