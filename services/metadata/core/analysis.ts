/**
 * @module metadata/core/analysis
 * media.v1.AnalysisService and RecordCaptureEvent as flows over the `AnalysisRepo` port: the
 * checks every request passes before the repository is touched (bad input changes nothing), and
 * the shapes the repository answers with. Pure: no SQL, no gRPC.
 *
 * The work states of an item (audio chunk or frame row), docs/analysis.md "Work queue":
 *   to do ──claim──▶ claimed (worker, attempt, until) ──complete──▶ processed (final)
 *                         │  └─fail──▶ to do after retry_after_ms, or failed (permanent / attempts used up)
 *                         └─claim expired (worker died)──▶ to do; failed once max_attempts claims expired
 * A result is written by exactly one claim: complete and fail name (worker, attempt) and are
 * refused with ANALYSIS_CLAIM_LOST once the item moved on.
 */
import { CAPTURE_EVENT_KINDS, CAPTURE_EVENT_PHASES, MAX_CAPTURE_EVENT_DETAIL_BYTES } from "../../../proto/wire/messages";
import { isBlobIndex, isCanonicalUuid } from "../../../proto/wire/ids";
import type { WriteOutcome } from "../../shared/blob";
import { AppError } from "../../shared/errors";

export type AnalysisKindName = "audio" | "frame";
export const ANALYSIS_KINDS: readonly AnalysisKindName[] = ["audio", "frame"];

/** Largest analysis JSON a result may carry (bytes), and transcript text (characters). */
export const MAX_ANALYSIS_JSON_BYTES = 256 * 1024;
export const MAX_TRANSCRIPTION_CHARS = 64 * 1024;
/** Claim and page bounds. */
export const MAX_CLAIM_LIMIT = 100;
export const MIN_LEASE_MS = 1_000;
export const MAX_LEASE_MS = 3_600_000;
export const MAX_ATTEMPTS = 100;
export const MAX_PAGE_LIMIT = 500;
export const MAX_CAPTURE_EVENTS_LISTED = 1_000;
const MAX_WORKER_CHARS = 200;
const MAX_REASON_CHARS = 500;

/** A claimed item (media.v1 AnalysisWorkItem). Times in epoch ms; 0 = unset. */
export interface WorkItem {
  kind: AnalysisKindName;
  rowId: number;
  attempt: number;
  sessionId: string;
  index: number;
  mediaType: string;
  filePath: string;
  fileSize: number;
  sha256Hex: string;
  startMs: number;
  endMs: number;
  durationMs: number;
  chunkIndex: number;
  offsetMs: number;
  timestampMs: number;
}

export interface ClaimInput {
  worker: string;
  kinds: readonly AnalysisKindName[];
  limit: number;
  leaseMs: number;
  maxAttempts: number;
}

export interface CompleteInput {
  worker: string;
  kind: AnalysisKindName;
  rowId: number;
  attempt: number;
  analysisJson: string;
  transcription: string | null;
}

export interface FailInput {
  worker: string;
  kind: AnalysisKindName;
  rowId: number;
  attempt: number;
  reason: string;
  permanent: boolean;
  retryAfterMs: number;
  maxAttempts: number;
}

export interface AnalysedChunkRow {
  chunkIndex: number;
  processed: boolean;
  failed: boolean;
  error: string;
  transcription: string | null;
  analysisJson: string;
  startMs: number;
  endMs: number;
}

export interface AnalysedFrameRow {
  frameIndex: number;
  processed: boolean;
  failed: boolean;
  error: string;
  analysisJson: string;
  chunkIndex: number;
  offsetMs: number;
  timestampMs: number;
}

export interface ChunkTimingRow {
  chunkIndex: number;
  startMs: number;
  endMs: number;
  processed: boolean;
  failed: boolean;
  speechSegmentsJson: string;
}

export interface FrameCounts {
  total: number;
  processed: number;
  failed: number;
  withoutFace: number;
  black: number;
  frozen: number;
}

export interface CaptureEventRow {
  eventIndex: number;
  kind: string;
  phase: string;
  atMs: number;
  detailJson: string;
}

export interface SessionAnalysisPage {
  chunks: AnalysedChunkRow[];
  frames: AnalysedFrameRow[];
  moreChunks: boolean;
  moreFrames: boolean;
  timing: ChunkTimingRow[];
  frameCounts: FrameCounts;
  captureEvents: CaptureEventRow[];
  timelineStartMs: number;
}

export interface CaptureEventInput {
  sessionId: string;
  eventIndex: number;
  kind: string;
  phase: string;
  atMs: number;
  /** Compact JSON object, or "" for none. */
  detailJson: string;
  ownerEpoch: number;
}

/** The port: PgAnalysisRepo (adapters/pg-analysis-repo.ts). */
export interface AnalysisRepo {
  claim(input: ClaimInput): Promise<{ items: WorkItem[]; expiredFailed: number }>;
  /** False when (worker, attempt) no longer holds the item. */
  complete(input: CompleteInput): Promise<boolean>;
  /** null when (worker, attempt) no longer holds the item; else whether it is failed for good now. */
  fail(input: FailInput): Promise<{ failed: boolean } | null>;
  /** null when there is no such session. */
  sessionAnalysis(sessionId: string, chunksAfter: number, framesAfter: number, limit: number): Promise<SessionAnalysisPage | null>;
  /** null when there is no such session; throws SESSION_TAKEN_OVER on a stale epoch. */
  recordCaptureEvent(input: CaptureEventInput): Promise<WriteOutcome | null>;
}

const bad = (field: string, what: string) => new AppError("INVALID_MESSAGE", `${field} ${what}`, { field });

function checkWorker(worker: string): void {
  if (!worker || worker.length > MAX_WORKER_CHARS) throw bad("worker", `must be 1 to ${MAX_WORKER_CHARS} characters`);
}

function checkClaimRef(i: { rowId: number; attempt: number }): void {
  if (!Number.isSafeInteger(i.rowId) || i.rowId <= 0) throw bad("row_id", "must be a positive integer");
  if (!Number.isSafeInteger(i.attempt) || i.attempt <= 0) throw bad("attempt", "must be a positive integer");
}

function inRange(field: string, v: number, min: number, max: number): void {
  if (!Number.isSafeInteger(v) || v < min || v > max) throw bad(field, `must be an integer from ${min} to ${max}`);
}

/** A JSON object given as text, at most `max` bytes. */
function checkJsonObject(field: string, text: string, max: number): void {
  if (new TextEncoder().encode(text).length > max) throw bad(field, `must be at most ${max} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw bad(field, "must be valid JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad(field, "must be a JSON object");
}

const lost = () => new AppError("ANALYSIS_CLAIM_LOST", "this worker no longer holds the item's claim (it expired and was taken, or the item is done)");

export class Analysis {
  constructor(private readonly repo: AnalysisRepo) {}

  claim(input: ClaimInput): Promise<{ items: WorkItem[]; expiredFailed: number }> {
    checkWorker(input.worker);
    inRange("limit", input.limit, 1, MAX_CLAIM_LIMIT);
    inRange("lease_ms", input.leaseMs, MIN_LEASE_MS, MAX_LEASE_MS);
    inRange("max_attempts", input.maxAttempts, 1, MAX_ATTEMPTS);
    const kinds = input.kinds.length ? [...new Set(input.kinds)] : ANALYSIS_KINDS;
    return this.repo.claim({ ...input, kinds });
  }

  async complete(input: CompleteInput): Promise<void> {
    checkWorker(input.worker);
    checkClaimRef(input);
    checkJsonObject("analysis_json", input.analysisJson, MAX_ANALYSIS_JSON_BYTES);
    if (input.transcription !== null) {
      if (input.kind !== "audio") throw bad("transcription", "is only for audio chunks");
      if (input.transcription.length > MAX_TRANSCRIPTION_CHARS) throw bad("transcription", `must be at most ${MAX_TRANSCRIPTION_CHARS} characters`);
    }
    if (!(await this.repo.complete(input))) throw lost();
  }

  async fail(input: FailInput): Promise<{ failed: boolean }> {
    checkWorker(input.worker);
    checkClaimRef(input);
    if (!input.reason || input.reason.length > MAX_REASON_CHARS) throw bad("reason", `must be 1 to ${MAX_REASON_CHARS} characters`);
    inRange("retry_after_ms", input.retryAfterMs, 0, MAX_LEASE_MS);
    inRange("max_attempts", input.maxAttempts, 1, MAX_ATTEMPTS);
    const r = await this.repo.fail(input);
    if (!r) throw lost();
    return r;
  }

  async sessionAnalysis(sessionId: string, chunksAfter: number, framesAfter: number, limit: number): Promise<SessionAnalysisPage> {
    if (!isCanonicalUuid(sessionId)) throw new AppError("INVALID_SESSION_ID", "session_id must be a canonical lowercase UUID", { field: "session_id" });
    for (const [field, v] of [["chunks_after", chunksAfter], ["frames_after", framesAfter]] as const) {
      if (!Number.isSafeInteger(v) || v < -1 || (v >= 0 && !isBlobIndex(v))) throw bad(field, "must be -1 or an index");
    }
    inRange("limit", limit, 1, MAX_PAGE_LIMIT);
    const page = await this.repo.sessionAnalysis(sessionId, chunksAfter, framesAfter, limit);
    if (!page) throw new AppError("SESSION_NOT_FOUND");
    return page;
  }

  async recordCaptureEvent(input: CaptureEventInput): Promise<WriteOutcome> {
    if (!isCanonicalUuid(input.sessionId)) throw new AppError("INVALID_SESSION_ID", "session_id must be a canonical lowercase UUID", { field: "session_id" });
    if (!isBlobIndex(input.eventIndex)) throw bad("event_index", "must be an index (uint32)");
    if (!(CAPTURE_EVENT_KINDS as readonly string[]).includes(input.kind)) throw bad("kind", `must be one of ${CAPTURE_EVENT_KINDS.join(", ")}`);
    if (!(CAPTURE_EVENT_PHASES as readonly string[]).includes(input.phase)) throw bad("phase", "must be began or ended");
    if (!Number.isSafeInteger(input.atMs) || input.atMs <= 0) throw bad("at_ms", "must be a positive epoch ms");
    if (input.detailJson !== "") checkJsonObject("detail_json", input.detailJson, MAX_CAPTURE_EVENT_DETAIL_BYTES);
    const outcome = await this.repo.recordCaptureEvent(input);
    if (outcome === null) throw new AppError("SESSION_NOT_FOUND");
    return outcome;
  }
}
