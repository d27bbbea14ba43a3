/**
 * @module gateway/core/fakes
 * In-memory fakes of the gateway's two ports (ports.ts) with the real services' semantics:
 * storage is create-only (a second put answers identical or conflict), metadata records are
 * idempotent per (session, index) and conflict on other bytes, and sessions have leases (each
 * openSession a new epoch; a record or complete of another epoch is SESSION_TAKEN_OVER). For
 * tests only.
 *
 * stream-session.test.ts drives them by their fields (failNext, failOpen, storedAnswer, the call
 * counters); the property tests (stream-session.fuzz.test.ts) by two hooks: `fault(op)` may refuse any call with an AppError, and
 * `gate(op)` decides when a call runs (a fast-check scheduler there), so random interleavings of
 * the session's messages and its upstream calls are explored.
 */
import type { BlobRef, WriteOutcome } from "../../shared/blob";
import { AppError } from "../../shared/errors";
import type { IndexRange } from "../../../proto/wire";
import type { AudioRecord, CaptureEventRecord, FrameRecord, MetadataService, OpenSessionParams, SessionLease, SessionSummary, StorageService, StoredSummary } from "./ports";

export type FakeOp = "put" | "delete" | "open" | "status" | "recordAudio" | "recordFrame" | "complete" | "renew" | "release" | "captureEvent";

export interface FakeHooks {
  /** An error this call fails with, or null to let it through. */
  fault?: (op: FakeOp) => AppError | null;
  /** Resolves when the call may run (default: at once). */
  gate?: (op: FakeOp) => Promise<void>;
}

const blobKey = (r: BlobRef) => `${r.sessionId}/${r.kind}/${r.index}`;

async function enter(hooks: FakeHooks, op: FakeOp): Promise<void> {
  if (hooks.gate) await hooks.gate(op);
  const e = hooks.fault?.(op);
  if (e) throw e;
}

export class FakeStorage implements StorageService {
  /** By `<session>/<kind>/<index>.<mediaType>`. */
  readonly blobs = new Map<string, { sha: string; mediaType: string }>();
  puts = 0;
  /** The next put fails with this (once). */
  failNext: AppError | null = null;
  constructor(private readonly hooks: FakeHooks = {}) {}

  async put(ref: BlobRef, _data: Uint8Array, sha256Hex: string) {
    this.puts++;
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = null;
      throw e;
    }
    await enter(this.hooks, "put");
    const k = `${blobKey(ref)}.${ref.mediaType}`;
    const have = this.blobs.get(k);
    const location = `/store/${k}`;
    if (!have) {
      this.blobs.set(k, { sha: sha256Hex, mediaType: ref.mediaType });
      return { outcome: "created" as WriteOutcome, location };
    }
    return { outcome: (have.sha === sha256Hex ? "identical" : "conflict") as WriteOutcome, location };
  }

  async delete(ref: BlobRef) {
    await enter(this.hooks, "delete");
    this.blobs.delete(`${blobKey(ref)}.${ref.mediaType}`);
  }

  /** The stored blob of an item, whatever its media type. */
  find(sessionId: string, kind: BlobRef["kind"], index: number): { sha: string; mediaType: string } | undefined {
    const prefix = `${sessionId}/${kind}/${index}.`;
    for (const [k, v] of this.blobs) if (k.startsWith(prefix)) return v;
    return undefined;
  }
}

export class FakeMetadata implements MetadataService {
  readonly sessions = new Map<string, { completed: boolean; interview: number | null; user: number | null; epoch: number; owner: string | null }>();
  readonly audio = new Map<string, AudioRecord>();
  readonly frames = new Map<string, FrameRecord>();
  /** Every openSession fails with this while set. */
  failOpen: AppError | null = null;
  /** What openSession answers as `stored` for a resumed session instead of the rows it holds. */
  storedAnswer: StoredSummary | null = null;
  opens = 0;
  completes = 0;
  constructor(private readonly hooks: FakeHooks = {}) {}

  async openSession(p: Omit<OpenSessionParams, "storagePath">): Promise<{ resumed: boolean; stored?: StoredSummary | null; ownerEpoch: number }> {
    this.opens++;
    if (this.failOpen) throw this.failOpen;
    await enter(this.hooks, "open");
    if (p.interviewSessionId === 404) throw new AppError("INTERVIEW_SESSION_NOT_FOUND");
    const s = this.sessions.get(p.sessionId);
    if (s && (s.interview !== p.interviewSessionId || s.user !== p.userId)) throw new AppError("SESSION_MISMATCH");
    if (s?.completed) throw new AppError("SESSION_COMPLETED");
    if (!s) {
      this.sessions.set(p.sessionId, { completed: false, interview: p.interviewSessionId, user: p.userId, epoch: 1, owner: p.ownerInstance });
      return { resumed: false, stored: null, ownerEpoch: 1 };
    }
    s.epoch++;
    s.owner = p.ownerInstance;
    const mine = <T extends { sessionId: string }>(m: Map<string, T>) => [...m.values()].filter((r) => r.sessionId === p.sessionId);
    const stored: StoredSummary = this.storedAnswer ?? {
      chunks: runs(mine(this.audio).map((r) => r.chunkIndex)),
      frames: runs(mine(this.frames).map((r) => r.frameIndex)),
      truncated: false,
    };
    return { resumed: true, stored, ownerEpoch: s.epoch };
  }

  /** Another gateway instance takes the session over (a newer epoch), as its openSession would. */
  takeOver(sessionId: string, ownerInstance = "gw-other"): number {
    const s = this.sessions.get(sessionId)!;
    s.owner = ownerInstance;
    return ++s.epoch;
  }

  private fence(sessionId: string, epoch: number): void {
    const s = this.sessions.get(sessionId);
    if (s && s.epoch !== epoch) throw new AppError("SESSION_TAKEN_OVER", "another connection holds this session's lease");
  }

  async renewLeases(ownerInstance: string, leases: readonly SessionLease[]): Promise<string[]> {
    await enter(this.hooks, "renew");
    return leases.filter((l) => {
      const s = this.sessions.get(l.sessionId);
      return !s || s.owner !== ownerInstance || s.epoch !== l.ownerEpoch;
    }).map((l) => l.sessionId);
  }

  async releaseSession(p: SessionLease & { ownerInstance: string }): Promise<boolean> {
    await enter(this.hooks, "release");
    const s = this.sessions.get(p.sessionId);
    if (!s || s.owner !== p.ownerInstance || s.epoch !== p.ownerEpoch) return false;
    s.owner = null;
    return true;
  }

  async status(sessionId: string): Promise<SessionSummary> {
    await enter(this.hooks, "status");
    const s = this.sessions.get(sessionId);
    if (!s) throw new AppError("SESSION_NOT_FOUND");
    return { sessionId, status: s.completed ? "completed" : "active", totalChunks: 0, totalFrames: 0, startedAtMs: 1, lastActivityMs: 2, interviewSessionId: s.interview, userId: s.user, isConnected: s.owner !== null };
  }

  private rec<T extends { sha256Hex: string }>(m: Map<string, T>, k: string, r: T): WriteOutcome {
    const have = m.get(k);
    if (!have) {
      m.set(k, r);
      return "created";
    }
    return have.sha256Hex === r.sha256Hex ? "identical" : "conflict";
  }

  async recordAudio(r: AudioRecord) {
    await enter(this.hooks, "recordAudio");
    this.fence(r.sessionId, r.ownerEpoch);
    return this.rec(this.audio, `${r.sessionId}/${r.chunkIndex}`, r);
  }

  async recordFrame(r: FrameRecord) {
    await enter(this.hooks, "recordFrame");
    this.fence(r.sessionId, r.ownerEpoch);
    return this.rec(this.frames, `${r.sessionId}/${r.frameIndex}`, r);
  }

  /** The committed row of an item. */
  row(sessionId: string, kind: BlobRef["kind"], index: number): AudioRecord | FrameRecord | undefined {
    return (kind === "audio" ? this.audio : this.frames).get(`${sessionId}/${index}`);
  }

  async completeSession(p: { sessionId: string; totalChunks: number; totalFrames: number; ownerEpoch: number }) {
    this.completes++;
    await enter(this.hooks, "complete");
    const s = this.sessions.get(p.sessionId);
    if (!s) throw new AppError("SESSION_NOT_FOUND");
    this.fence(p.sessionId, p.ownerEpoch);
    s.completed = true;
    const chunks = [...this.audio.values()].filter((a) => a.sessionId === p.sessionId).map((a) => a.chunkIndex);
    const frames = [...this.frames.values()].filter((a) => a.sessionId === p.sessionId).map((a) => a.frameIndex);
    // Bounded (random totals in the property tests reach 2^32); above what the example tests use.
    const missing = (n: number, have: number[]) => [...Array(Math.min(n, 10_000)).keys()].filter((i) => !have.includes(i));
    return {
      session: { sessionId: p.sessionId, status: "completed" as const, totalChunks: chunks.length, totalFrames: frames.length, startedAtMs: 1, lastActivityMs: 2, interviewSessionId: s.interview, userId: s.user, isConnected: s.owner !== null },
      missingChunks: missing(p.totalChunks, chunks),
      missingFrames: missing(p.totalFrames, frames),
    };
  }

  readonly captureEvents = new Map<string, CaptureEventRecord>();
  async recordCaptureEvent(e: CaptureEventRecord) {
    await enter(this.hooks, "captureEvent");
    if (!this.sessions.has(e.sessionId)) throw new AppError("SESSION_NOT_FOUND");
    this.fence(e.sessionId, e.ownerEpoch);
    const key = `${e.sessionId}/${e.eventIndex}`;
    const had = this.captureEvents.get(key);
    if (!had) {
      this.captureEvents.set(key, e);
      return "created" as const;
    }
    const same = had.kind === e.kind && had.phase === e.phase && had.atMs === e.atMs && had.detailJson === e.detailJson;
    return same ? ("identical" as const) : ("conflict" as const);
  }
}

/** Sorted runs of consecutive indices, as the metadata service reports them. */
export function runs(indices: number[]): IndexRange[] {
  const out: IndexRange[] = [];
  for (const i of [...indices].sort((a, b) => a - b)) {
    const last = out.at(-1);
    if (last && last[1] === i - 1) last[1] = i;
    else out.push([i, i]);
  }
  return out;
}
