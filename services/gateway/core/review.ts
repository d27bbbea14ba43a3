/**
 * @module gateway/review
 * The reviewer's side of a session, on ports (metadata ReviewService, storage reads): every stored
 * item of a session, the seal written at session_complete (manifest.ts), the sealed manifest, and
 * verify (every blob re-read and hashed). No HTTP here (adapters/http-review.ts), no gRPC.
 */
import { AppError, toAppError } from "../../shared/errors";
import type { BlobRef, WriteOutcome } from "../../shared/blob";
import type { InterviewSummary, ReviewSession, SessionItemsPage, StoredChunk, StoredFrame } from "../../shared/review";
import { buildManifest, chainIntact, type Manifest, parseManifest, type ReadBack, type VerifyReport, verifyAgainst } from "./manifest";
import type { SessionSummary } from "./ports";

export interface ReviewPorts {
  listInterviews(limit: number, beforeId: number, onlyId: number): Promise<{ interviews: InterviewSummary[]; more: boolean }>;
  /** AppError INTERVIEW_SESSION_NOT_FOUND when there is none. */
  getInterview(id: number): Promise<{ interview: InterviewSummary; sessions: ReviewSession[] }>;
  sessionItems(sessionId: string, chunksAfter: number, framesAfter: number, limit: number): Promise<SessionItemsPage>;
  seal(sessionId: string, manifestSha256: string): Promise<{ sealedAtMs: number }>;
  status(sessionId: string): Promise<SessionSummary>;
  /** The blob's bytes; AppError NOT_FOUND when storage has none. */
  getBlob(ref: BlobRef): Promise<Uint8Array>;
  putBlob(ref: BlobRef, data: Uint8Array, sha256Hex: string): Promise<WriteOutcome>;
  sha256Hex(data: Uint8Array | string): string;
}

export const manifestRef = (sessionId: string): BlobRef => ({ sessionId, kind: "manifest", index: 0, mediaType: "application/json" });
export const chunkRef = (sessionId: string, c: StoredChunk): BlobRef => ({ sessionId, kind: "audio", index: c.chunkIndex, mediaType: c.mediaType });
export const frameRef = (sessionId: string, f: StoredFrame): BlobRef => ({ sessionId, kind: "frame", index: f.frameIndex, mediaType: f.mediaType });

/** Blobs read at once by verify and export. */
export const READ_CONCURRENCY = 8;

/** Runs `fn` over `items`, `n` at a time, keeping the order of the results. */
export async function mapLimit<T, R>(items: readonly T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

export class Review {
  constructor(private readonly p: ReviewPorts) {}

  listInterviews(limit: number, beforeId: number, onlyId: number) {
    return this.p.listInterviews(limit, beforeId, onlyId);
  }

  /** AppError INTERVIEW_SESSION_NOT_FOUND when there is none. */
  interview(id: number) {
    return this.p.getInterview(id);
  }

  status(sessionId: string) {
    return this.p.status(sessionId);
  }

  /** A stored blob; AppError NOT_FOUND when storage has none. */
  blob(ref: BlobRef): Promise<Uint8Array> {
    return this.p.getBlob(ref);
  }

  /** Every stored chunk and frame of the session, in index order (pages of 1,000). */
  async items(sessionId: string): Promise<{ chunks: StoredChunk[]; frames: StoredFrame[]; manifestSha256: string }> {
    const chunks: StoredChunk[] = [];
    const frames: StoredFrame[] = [];
    let chunksAfter = -1;
    let framesAfter = -1;
    for (;;) {
      const page = await this.p.sessionItems(sessionId, chunksAfter, framesAfter, 1000);
      chunks.push(...page.chunks);
      frames.push(...page.frames);
      if (page.chunks.length) chunksAfter = page.chunks[page.chunks.length - 1]!.chunkIndex;
      if (page.frames.length) framesAfter = page.frames[page.frames.length - 1]!.frameIndex;
      if (!page.moreChunks && !page.moreFrames) return { chunks, frames, manifestSha256: page.manifestSha256 };
    }
  }

  /** The session's seal (its manifest's SHA-256), "" while not sealed. */
  async sealOf(sessionId: string): Promise<string> {
    return (await this.p.sessionItems(sessionId, -1, -1, 1)).manifestSha256;
  }

  /**
   * Seals a completed session: builds its manifest, stores it beside the media (create-only: the
   * same bytes again are IDENTICAL), records its hash. Idempotent. `announced`: session_complete's
   * totals (null when sealed later, from what is stored).
   */
  async seal(session: SessionSummary, announced: { chunks: number; frames: number } | null): Promise<{ manifest: Manifest; bytes: Uint8Array; sha256: string }> {
    const { chunks, frames } = await this.items(session.sessionId);
    const sha = (t: string) => this.p.sha256Hex(t);
    const { manifest, bytes } = buildManifest({ sessionId: session.sessionId, interviewSessionId: session.interviewSessionId, userId: session.userId, announced, chunks, frames }, sha);
    const digest = this.p.sha256Hex(bytes);
    const outcome = await this.p.putBlob(manifestRef(session.sessionId), bytes, digest);
    // A conflict: a manifest with other bytes is stored (sealed earlier with the announced totals, or changed); the seal in metadata decides.
    if (outcome !== "conflict") {
      await this.p.seal(session.sessionId, digest);
      return { manifest, bytes, sha256: digest };
    }
    // Unless metadata holds no seal: then an earlier seal stored its manifest (with the announced
    // totals) and its call to metadata failed. When that manifest lists exactly these items,
    // seal it, or the session would never be sealed.
    if (await this.sealOf(session.sessionId)) return { manifest, bytes, sha256: digest };
    const storedBytes = await this.p.getBlob(manifestRef(session.sessionId));
    const stored = parseManifest(storedBytes);
    const same = stored !== null && stored.session_id === session.sessionId && chainIntact(stored, sha) &&
      JSON.stringify(stored.chunks) === JSON.stringify(manifest.chunks) && JSON.stringify(stored.frames) === JSON.stringify(manifest.frames);
    if (!same) return { manifest, bytes, sha256: digest };
    const storedDigest = this.p.sha256Hex(storedBytes);
    await this.p.seal(session.sessionId, storedDigest);
    return { manifest: stored, bytes: storedBytes, sha256: storedDigest };
  }

  /**
   * The sealed manifest's bytes and whether they are the ones sealed; SESSION_NOT_SEALED while the
   * session is not completed. `knownSeal`: the seal when the caller has just listed it.
   */
  async manifest(session: SessionSummary, knownSeal?: string): Promise<{ bytes: Uint8Array; intact: boolean; sealed: boolean }> {
    const sealedSha = knownSeal ?? (await this.sealOf(session.sessionId));
    if (!sealedSha) {
      if (session.status !== "completed") throw new AppError("SESSION_NOT_SEALED");
      // Completed but not sealed (the seal at session_complete failed): seal now from what is stored.
      const s = await this.seal(session, null);
      return { bytes: s.bytes, intact: true, sealed: true };
    }
    let bytes: Uint8Array;
    try {
      bytes = await this.p.getBlob(manifestRef(session.sessionId));
    } catch (err) {
      if (toAppError(err).code === "NOT_FOUND") return { bytes: new Uint8Array(), intact: false, sealed: true };
      throw err;
    }
    return { bytes, intact: this.p.sha256Hex(bytes) === sealedSha, sealed: true };
  }

  /**
   * Re-reads every blob and compares it with the sealed manifest (or, before the seal, with the
   * rows): missing blobs, changed bytes, a changed or vanished manifest.
   */
  async verify(session: SessionSummary): Promise<VerifyReport> {
    const sha = (t: string) => this.p.sha256Hex(t);
    let reference: Pick<Manifest, "chunks" | "frames" | "missing_chunks" | "missing_frames">;
    let intact = true;
    let sealed = false;
    const mediaTypes = new Map<string, string>();
    const { chunks, frames, manifestSha256: sealedSha } = await this.items(session.sessionId);
    for (const c of chunks) mediaTypes.set(`audio:${c.chunkIndex}`, c.mediaType);
    for (const f of frames) mediaTypes.set(`frame:${f.frameIndex}`, f.mediaType);
    if (sealedSha || session.status === "completed") {
      const m = await this.manifest(session, sealedSha);
      sealed = true;
      const parsed = m.intact ? parseManifest(m.bytes) : null;
      intact = m.intact && parsed !== null && chainIntact(parsed, sha);
      // A changed manifest cannot be trusted: compare with the rows instead, and say so.
      reference = parsed && intact ? parsed : buildManifest({ sessionId: session.sessionId, interviewSessionId: null, userId: null, announced: null, chunks, frames }, sha).manifest;
    } else {
      reference = buildManifest({ sessionId: session.sessionId, interviewSessionId: null, userId: null, announced: null, chunks, frames }, sha).manifest;
    }
    const wanted = [
      ...reference.chunks.map((c) => ({ kind: "audio" as const, index: c.index })),
      ...reference.frames.map((f) => ({ kind: "frame" as const, index: f.index })),
    ];
    const read = await mapLimit(wanted, READ_CONCURRENCY, async (w): Promise<ReadBack> => {
      const mediaType = mediaTypes.get(`${w.kind}:${w.index}`) ?? (w.kind === "audio" ? "audio/webm" : "image/jpeg");
      try {
        const data = await this.p.getBlob({ sessionId: session.sessionId, kind: w.kind, index: w.index, mediaType });
        return { ...w, found: true, sha256: this.p.sha256Hex(data), size: data.byteLength };
      } catch (err) {
        if (toAppError(err).code === "NOT_FOUND") return { ...w, found: false };
        throw err;
      }
    });
    return verifyAgainst(reference, read, { sealed, manifestIntact: intact });
  }
}
