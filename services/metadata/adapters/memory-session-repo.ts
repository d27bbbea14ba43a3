/**
 * @module memory-session-repo
 * SessionRepo in process memory, for unit tests of the metadata core's rules
 * (core/metadata.test.ts). It applies the decisions it is given the way PgSessionRepo does
 * (STATUS_AFTER_BLOB for blobs, `decide` for OpenSession, create-only rows, totals counted on
 * insert), without PostgreSQL's locking: every call runs to completion before the next one.
 * test/integration/ keeps checking the real thing.
 */
import { AppError } from "../../shared/errors";
import { blobKey, staleEpoch } from "../core/blobs";
import type { BlobItem, BlobRowKey, BlobRowsWritten, InterviewSession, OpenSessionInput, Session, SessionLease, SessionRef, SessionRepo, SessionStatusName, StoredRanges } from "../core/model";
import { storedRanges } from "../core/ranges";
import { STATUS_AFTER_BLOB } from "../core/session";

interface Stored {
  id: string;
  /** isConnected is computed on read (connected()). */
  session: Session;
  ownerInstance: string | null;
}

export class MemorySessionRepo implements SessionRepo {
  private readonly sessions = new Map<string, Stored>();
  /** blobKey(session id, kind, index) -> sha256 */
  private readonly rows = new Map<string, string>();
  /** blobKey(session id, kind, index) -> file_path */
  private readonly paths = new Map<string, string>();
  private readonly interviews = new Map<number, InterviewSession>();
  /** gateway instance -> its last heartbeat (ms) */
  private readonly heartbeats = new Map<string, number>();
  private nextId = 1;

  /**
   * `now` in Unix epoch ms (tests move it to make sessions idle); `leaseTtlMs`: how long an
   * instance's heartbeat keeps its sessions connected (METADATA_LEASE_TTL_MS).
   */
  constructor(
    private readonly now: () => number = Date.now,
    private readonly leaseTtlMs = 3000,
  ) {}

  private view(s: Stored): Session {
    const beat = s.ownerInstance === null ? undefined : this.heartbeats.get(s.ownerInstance);
    return { ...s.session, isConnected: beat !== undefined && beat > this.now() - this.leaseTtlMs };
  }

  private takeLease(s: Stored, instance: string): void {
    s.ownerInstance = instance;
    s.session.ownerEpoch++;
    this.heartbeats.set(instance, this.now());
  }

  async createInterviewSession(title: string, retentionDays: number | null = null): Promise<number> {
    const id = this.nextId++;
    this.interviews.set(id, { interviewSessionId: id, title, createdAtMs: this.now(), retentionDays, legalHold: false });
    return id;
  }

  async getInterviewSession(interviewSessionId: number): Promise<InterviewSession | null> {
    const found = this.interviews.get(interviewSessionId);
    return found ? { ...found } : null;
  }

  async openSession(input: OpenSessionInput, decide: (existing: Session) => SessionStatusName): Promise<{ session: Session; created: boolean }> {
    const found = this.sessions.get(input.sessionId);
    if (!found) {
      if (input.interviewSessionId !== undefined && !this.interviews.has(input.interviewSessionId)) {
        throw new AppError("INTERVIEW_SESSION_NOT_FOUND", undefined, { field: "interview_session_id" });
      }
      const t = this.now();
      const session: Session = {
        sessionId: input.sessionId,
        status: "active",
        totalChunks: 0,
        totalFrames: 0,
        startedAtMs: t,
        lastActivityMs: t,
        completedAtMs: 0,
        interviewSessionId: input.interviewSessionId ?? null,
        userId: input.userId ?? null,
        ownerEpoch: 0,
        isConnected: false,
      };
      const stored: Stored = { id: String(this.nextId++), session, ownerInstance: null };
      this.takeLease(stored, input.ownerInstance);
      this.sessions.set(input.sessionId, stored);
      return { session: this.view(stored), created: true };
    }
    const status = decide(this.view(found));
    found.session.status = status;
    found.session.lastActivityMs = this.now();
    this.takeLease(found, input.ownerInstance);
    return { session: this.view(found), created: false };
  }

  async writeBlobRows(items: BlobItem[]): Promise<BlobRowsWritten> {
    const sessions = new Map<string, SessionRef>();
    const inserted = new Set<string>();
    const stored = new Map<string, string>();
    const touched = new Set<Stored>();
    for (const item of items) {
      const s = this.sessions.get(item.record.sessionId);
      if (!s) continue;
      // Statuses change after the loop: every item sees its session as the batch found it.
      sessions.set(item.record.sessionId, { id: s.id, status: s.session.status, ownerEpoch: s.session.ownerEpoch });
      if (STATUS_AFTER_BLOB[s.session.status] === null || item.record.ownerEpoch !== s.session.ownerEpoch) continue;
      const key = blobKey(s.id, item.kind, item.kind === "audio" ? item.record.chunkIndex : item.record.frameIndex);
      touched.add(s);
      if (!this.rows.has(key)) {
        this.rows.set(key, item.record.sha256Hex);
        this.paths.set(key, item.record.filePath);
        inserted.add(key);
        if (item.kind === "audio") s.session.totalChunks++;
        else s.session.totalFrames++;
      }
      stored.set(key, this.rows.get(key)!);
    }
    for (const s of touched) {
      s.session.status = STATUS_AFTER_BLOB[s.session.status] ?? s.session.status;
      s.session.lastActivityMs = this.now();
    }
    return { sessions, inserted, stored };
  }

  async completeSession(sessionId: string, claimedChunks: number, claimedFrames: number, ownerEpoch: number) {
    const s = this.sessions.get(sessionId);
    if (!s) return null;
    if (ownerEpoch !== s.session.ownerEpoch) throw staleEpoch(ownerEpoch, s.session.ownerEpoch);
    if (s.session.status !== "completed") {
      s.session.status = "completed";
      s.session.completedAtMs = s.session.lastActivityMs = this.now();
    }
    const present = (kind: "audio" | "frame", claimed: number) => {
      const out: number[] = [];
      for (let i = 0; i < claimed; i++) if (this.rows.has(blobKey(s.id, kind, i))) out.push(i);
      return out;
    };
    return { session: this.view(s), chunkIndices: present("audio", claimedChunks), frameIndices: present("frame", claimedFrames) };
  }

  async getSession(sessionId: string): Promise<Session | null> {
    const s = this.sessions.get(sessionId);
    return s ? this.view(s) : null;
  }

  async renewLeases(ownerInstance: string, leases: readonly SessionLease[]): Promise<string[]> {
    this.heartbeats.set(ownerInstance, this.now());
    return leases
      .filter((l) => {
        const s = this.sessions.get(l.sessionId);
        return !s || s.ownerInstance !== ownerInstance || s.session.ownerEpoch !== l.ownerEpoch;
      })
      .map((l) => l.sessionId);
  }

  async releaseSession(sessionId: string, ownerEpoch: number, ownerInstance: string): Promise<boolean> {
    const s = this.sessions.get(sessionId);
    if (!s || s.ownerInstance !== ownerInstance || s.session.ownerEpoch !== ownerEpoch) return false;
    s.ownerInstance = null;
    return true;
  }

  async abandonIdleSessions(idleMs: number, limit: number): Promise<string[]> {
    const cutoff = this.now() - idleMs;
    const idle = [...this.sessions.values()]
      .filter((s) => s.session.status === "active" && s.session.lastActivityMs < cutoff && !this.view(s).isConnected)
      .sort((a, b) => a.session.lastActivityMs - b.session.lastActivityMs)
      .slice(0, limit);
    for (const s of idle) s.session.status = "abandoned";
    return idle.map((s) => s.session.sessionId);
  }

  async lookupBlobRows(keys: readonly BlobRowKey[]): Promise<(string | null)[]> {
    return keys.map((k) => {
      const s = this.sessions.get(k.sessionId);
      return (s && this.paths.get(blobKey(s.id, k.kind, k.index))) ?? null;
    });
  }

  async storedRanges(sessionId: string, maxRanges: number): Promise<StoredRanges> {
    const s = this.sessions.get(sessionId);
    const chunks: number[] = [];
    const frames: number[] = [];
    for (const key of s ? this.rows.keys() : []) {
      const [id, kind, index] = key.split(":"); // blobKey's layout
      if (id === s!.id) (kind === "audio" ? chunks : frames).push(Number(index));
    }
    return storedRanges(chunks, frames, maxRanges);
  }

  async ping(): Promise<boolean> {
    return true;
  }
}
