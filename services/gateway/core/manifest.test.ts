import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import type { StoredChunk, StoredFrame } from "../../shared/review";
import { buildManifest, chainIntact, missingIndices, parseManifest, verifyAgainst, verifySentence } from "./manifest";

const sha = (t: string) => createHash("sha256").update(t).digest("hex");
const SID = "0f8fad5b-d9cb-469f-a165-70867728950e";
const T0 = Date.parse("2026-12-03T10:00:00.000Z");
const chunk = (i: number): StoredChunk => ({ chunkIndex: i, mediaType: "audio/webm", filePath: `x/${i}`, fileSize: 100 + i, sha256Hex: sha(`a${i}`), startMs: T0 + i * 10_000, endMs: T0 + i * 10_000 + 10_120, durationMs: 10_120 });
const frame = (i: number): StoredFrame => ({ frameIndex: i, chunkIndex: Math.floor(i / 5), mediaType: "image/jpeg", filePath: `y/${i}`, fileSize: 50 + i, sha256Hex: sha(`f${i}`), timestampMs: T0 + i * 2000, offsetMs: (i * 2000) % 10_000 });
const input = (chunks: StoredChunk[], frames: StoredFrame[], announced: { chunks: number; frames: number } | null = null) => ({ sessionId: SID, interviewSessionId: 4, userId: 7, announced, chunks, frames });

describe("manifest", () => {
  test("lists every item with size, hash and timestamps; the same rows give the same bytes", () => {
    const a = buildManifest(input([chunk(1), chunk(0)], [frame(0)]), sha);
    const b = buildManifest(input([chunk(0), chunk(1)], [frame(0)]), sha);
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(a.manifest.chunks.map((c) => c.index)).toEqual([0, 1]);
    expect(a.manifest.chunks[0]).toMatchObject({ size: 100, sha256: sha("a0"), start: "2026-12-03T10:00:00.000Z", duration_ms: 10_120 });
    expect(parseManifest(a.bytes)).toEqual(a.manifest);
    expect(chainIntact(a.manifest, sha)).toBe(true);
  });

  test("missing indices against the announced totals, or the holes below the highest stored", () => {
    expect(buildManifest(input([chunk(0), chunk(2)], [], { chunks: 4, frames: 1 }), sha).manifest).toMatchObject({ missing_chunks: [1, 3], missing_frames: [0] });
    expect(buildManifest(input([chunk(0), chunk(2)], [frame(3)]), sha).manifest).toMatchObject({ missing_chunks: [1], missing_frames: [0, 1, 2] });
    expect(missingIndices(0, [])).toEqual([]);
  });

  test("the chain: any edited, dropped or reordered entry breaks it and every later link", () => {
    const { manifest } = buildManifest(input([chunk(0), chunk(1), chunk(2)], [frame(0), frame(1)]), sha);
    const edited = structuredClone(manifest);
    edited.chunks[1]!.sha256 = sha("other");
    expect(chainIntact(edited, sha)).toBe(false);
    const dropped = structuredClone(manifest);
    dropped.chunks.splice(1, 1);
    expect(chainIntact(dropped, sha)).toBe(false);
    const hidden = structuredClone(manifest);
    hidden.missing_chunks = [];
    hidden.frames[0]!.offset_ms = 1;
    expect(chainIntact(hidden, sha)).toBe(false);
    // Links differ from the edit on: recomputing shows where.
    const other = buildManifest(input([chunk(0), { ...chunk(1), fileSize: 1 }, chunk(2)], [frame(0), frame(1)]), sha).manifest;
    expect(other.chunks[0]!.chain).toBe(manifest.chunks[0]!.chain);
    expect(other.chunks[1]!.chain).not.toBe(manifest.chunks[1]!.chain);
    expect(other.chain_head).not.toBe(manifest.chain_head);
  });

  test("verify: a changed byte is mismatched, a deleted blob missing, the rest matches", () => {
    const { manifest } = buildManifest(input([chunk(0), chunk(1)], [frame(0)], { chunks: 2, frames: 1 }), sha);
    const good = [
      { kind: "audio" as const, index: 0, found: true as const, sha256: sha("a0"), size: 100 },
      { kind: "audio" as const, index: 1, found: true as const, sha256: sha("a1"), size: 101 },
      { kind: "frame" as const, index: 0, found: true as const, sha256: sha("f0"), size: 50 },
    ];
    const ok = verifyAgainst(manifest, good, { sealed: true, manifestIntact: true });
    expect(ok).toEqual({ ok: true, sealed: true, manifest_intact: true, chunks: 2, frames: 1, missing_chunks: [], missing_frames: [], mismatched: [] });
    expect(verifySentence(ok)).toBe("complete, 2 chunks, 1 frames, 0 gaps, hashes match");
    const bad = verifyAgainst(manifest, [{ ...good[0]!, sha256: sha("x") }, { kind: "audio", index: 1, found: false }, good[2]!], { sealed: true, manifestIntact: true });
    expect(bad).toMatchObject({ ok: false, missing_chunks: [1], mismatched: [{ kind: "audio", index: 0 }] });
    expect(verifySentence(bad)).toBe("missing chunks 1; changed: audio 0");
    expect(verifyAgainst(manifest, good, { sealed: true, manifestIntact: false }).ok).toBe(false);
  });
});
