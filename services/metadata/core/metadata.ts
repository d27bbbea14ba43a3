/**
 * @module metadata/core/metadata
 * The metadata service's core: each call of media.v1.MetadataService as a flow over the
 * `SessionRepo` port. The gRPC adapter talks only to this; the repository only stores.
 *
 * RecordBlobs (the hot path, one call per group-commit batch): validate and de-duplicate
 * (`itemsToInsert`), ONE repository write for the batch (`writeBlobRows`: one transaction, one
 * round trip on PostgreSQL), then plan and decide every item's answer from what the write found
 * (`planBatch`, `decideOutcomes`). If the write fails, the items are retried one transaction
 * each, so one bad item cannot fail its neighbours (not when the database is unreachable:
 * every item then answers UPSTREAM_UNAVAILABLE and the client re-sends).
 */
import { AppError, toAppError } from "../../shared/errors";
import { decideOutcomes, itemsToInsert, missingIndices, planBatch, validateClaimedTotal } from "./blobs";
import { isBlobIndex, isCanonicalUuid } from "../../../proto/wire/ids";
import {
  type BlobItem,
  type BlobRowKey,
  type CompleteResult,
  type InterviewSession,
  type ItemResult,
  MAX_LOOKUP_KEYS,
  MAX_RENEW_LEASES,
  type OpenSessionInput,
  type Session,
  type SessionRef,
  type SessionLease,
  type SessionRepo,
} from "./model";
import type { StoredRanges } from "./model";
import { MAX_STORED_RANGES } from "./ranges";
import { validRetentionDays } from "./retention";
import { decideOpen, requireSessionId } from "./session";

export interface MetadataHooks {
  /** A batch write failed and its items are retried one by one (for the log). */
  onBatchSplit?(size: number, err: AppError): void;
}

const NO_SESSIONS: ReadonlyMap<string, SessionRef> = new Map();
const NO_KEYS: ReadonlySet<string> = new Set();
const NO_ROWS: ReadonlyMap<string, string> = new Map();

export class Metadata {
  constructor(
    private readonly repo: SessionRepo,
    private readonly hooks: MetadataHooks = {},
  ) {}

  /** `retentionDays`: 1..3650 (INVALID_MESSAGE otherwise), null: the deployment's retention. */
  createInterviewSession(title: string, retentionDays: number | null = null): Promise<number> {
    return this.repo.createInterviewSession(title, validRetentionDays(retentionDays));
  }

  /** INTERVIEW_SESSION_NOT_FOUND when there is none (also for an id no interview can have). */
  async getInterviewSession(interviewSessionId: number): Promise<InterviewSession> {
    const found = Number.isSafeInteger(interviewSessionId) && interviewSessionId > 0 ? await this.repo.getInterviewSession(interviewSessionId) : null;
    if (!found) throw new AppError("INTERVIEW_SESSION_NOT_FOUND", undefined, { field: "interview_session_id" });
    return found;
  }

  /**
   * Creates the media session or resumes it (a reconnect): `resumed` says which. A resumed
   * session also answers what it holds (`stored`, at most MAX_STORED_RANGES ranges per kind),
   * read after the open's transaction so the session's row lock is not held for it: rows are
   * create-only, so whatever it lists stays stored.
   */
  async openSession(input: OpenSessionInput): Promise<{ session: Session; resumed: boolean; stored: StoredRanges | null }> {
    requireSessionId(input.sessionId);
    requireInstance(input.ownerInstance);
    const { session, created } = await this.repo.openSession(input, (existing) => decideOpen(existing, input));
    if (created) return { session, resumed: false, stored: null };
    return { session, resumed: true, stored: await this.repo.storedRanges(input.sessionId, MAX_STORED_RANGES) };
  }

  /** Records a batch; resolves once it is committed, with one answer per item (failures are answers). */
  async recordBlobs(items: BlobItem[]): Promise<ItemResult[]> {
    if (items.length === 0) return [];
    try {
      return await this.recordBatch(items);
    } catch (err) {
      const app = toAppError(err);
      if (items.length === 1 || app.code === "UPSTREAM_UNAVAILABLE") return items.map(() => ({ error: app }));
      this.hooks.onBatchSplit?.(items.length, app);
      const out: ItemResult[] = [];
      for (const item of items) out.push(...(await this.recordBlobs([item])));
      return out;
    }
  }

  private async recordBatch(items: BlobItem[]): Promise<ItemResult[]> {
    const toInsert = itemsToInsert(items);
    if (toInsert.length === 0) return decideOutcomes(items.length, planBatch(items, NO_SESSIONS), NO_KEYS, NO_ROWS);
    const written = await this.repo.writeBlobRows(toInsert);
    return decideOutcomes(items.length, planBatch(items, written.sessions), written.inserted, written.stored);
  }

  /** Idempotent for the lease holder (fenced like records); missing indices are computed against the claimed totals. */
  async completeSession(sessionId: string, claimedChunks: number, claimedFrames: number, ownerEpoch: number): Promise<CompleteResult> {
    requireSessionId(sessionId);
    validateClaimedTotal(claimedChunks, "total_chunks");
    validateClaimedTotal(claimedFrames, "total_frames");
    requireEpoch(ownerEpoch);
    const done = await this.repo.completeSession(sessionId, claimedChunks, claimedFrames, ownerEpoch);
    if (!done) throw notFound();
    return {
      session: done.session,
      missingChunkIndices: missingIndices(claimedChunks, done.chunkIndices),
      missingFrameIndices: missingIndices(claimedFrames, done.frameIndices),
    };
  }

  async getSessionStatus(sessionId: string): Promise<Session> {
    requireSessionId(sessionId);
    const session = await this.repo.getSession(sessionId);
    if (!session) throw notFound();
    return session;
  }

  /** Active sessions idle for more than idleMs become abandoned; returns their ids. */
  async abandonIdleSessions(idleMs: number, limit: number): Promise<string[]> {
    if (!Number.isSafeInteger(idleMs) || idleMs < 0) throw new AppError("INVALID_MESSAGE", "idle_ms must be a non-negative integer", { field: "idle_ms" });
    return this.repo.abandonIdleSessions(idleMs, limit);
  }

  /** A gateway instance's heartbeat: refreshes it and answers the sessions of `leases` it has lost. */
  async renewLeases(ownerInstance: string, leases: readonly SessionLease[]): Promise<string[]> {
    requireInstance(ownerInstance);
    if (leases.length > MAX_RENEW_LEASES) throw new AppError("INVALID_MESSAGE", `at most ${MAX_RENEW_LEASES} leases per call`, { field: "leases" });
    for (const l of leases) {
      requireSessionId(l.sessionId);
      requireEpoch(l.ownerEpoch);
    }
    return this.repo.renewLeases(ownerInstance, leases);
  }

  /** Gives a lease up; false when it had already moved on (nothing changed). */
  async releaseSession(sessionId: string, ownerEpoch: number, ownerInstance: string): Promise<boolean> {
    requireSessionId(sessionId);
    requireEpoch(ownerEpoch);
    requireInstance(ownerInstance);
    return this.repo.releaseSession(sessionId, ownerEpoch, ownerInstance);
  }

  /** The file_path of each key's row, null when it has none (the reaper's orphan sweeper). */
  async lookupBlobRows(keys: readonly BlobRowKey[]): Promise<(string | null)[]> {
    if (keys.length > MAX_LOOKUP_KEYS) throw new AppError("INVALID_MESSAGE", `at most ${MAX_LOOKUP_KEYS} keys per call`, { field: "keys" });
    for (const k of keys) {
      if (!isCanonicalUuid(k.sessionId)) throw new AppError("INVALID_SESSION_ID", undefined, { field: "session_id" });
      if (!isBlobIndex(k.index)) throw new AppError("INVALID_MESSAGE", "index must be a non-negative 32-bit integer", { field: "index" });
    }
    if (keys.length === 0) return [];
    return this.repo.lookupBlobRows(keys);
  }

  ping(): Promise<boolean> {
    return this.repo.ping();
  }
}

/** Longest GATEWAY_INSTANCE_ID (a pod name is at most 253). */
export const MAX_INSTANCE_ID_LENGTH = 256;

function requireInstance(id: string): void {
  if (id === "" || id.length > MAX_INSTANCE_ID_LENGTH) {
    throw new AppError("INVALID_MESSAGE", `owner_instance must be 1 to ${MAX_INSTANCE_ID_LENGTH} characters`, { field: "owner_instance" });
  }
}

function requireEpoch(epoch: number): void {
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new AppError("INVALID_MESSAGE", "owner_epoch must be a non-negative integer", { field: "owner_epoch" });
}

function notFound(): AppError {
  return new AppError("SESSION_NOT_FOUND");
}
