/**
 * @module grpc-clients
 * The gateway's ports to the remote services (core/ports.ts: StorageService, MetadataService)
 * over gRPC. Blob writes and row inserts, the hot path, go through a StreamPool of long-lived
 * bidirectional streams (PutBlobs / RecordBlobs); everything else is a unary call with a
 * deadline. gRPC errors come back as the AppError the service threw (fromGrpcError); a transport
 * failure is UPSTREAM_UNAVAILABLE, so the client re-sends. WRITE_OUTCOME_* becomes the shared
 * WriteOutcome here, once (outcomeOf).
 */
import * as grpc from "@grpc/grpc-js";
import { AnalysisServiceClient } from "../../../proto/gen/media/v1/analysis";
import { ReviewServiceClient } from "../../../proto/gen/media/v1/review";
import type { InterviewSummary, ReviewSession, SessionItemsPage } from "../../shared/review";
import type { AnalysisPage } from "../core/analysis-view";
import { BlobKind, type ItemError, WriteOutcome as PbOutcome } from "../../../proto/gen/media/v1/common";
import {
  type BlobRecord,
  MetadataServiceClient,
  type RecordBlobsRequest,
  type RecordBlobsResponse,
  type RecordResult,
  SessionStatus,
  type SessionInfo,
} from "../../../proto/gen/media/v1/metadata";
import {
  type PutBlob,
  type PutBlobsRequest,
  type PutBlobsResponse,
  type PutResult,
  StorageServiceClient,
  StorageServiceService,
} from "../../../proto/gen/media/v1/storage";
import type { IndexRange } from "../../../proto/wire";
import { AppError } from "../../shared/errors";
import { CHANNEL_OPTIONS, checkHealth, fromItemError, healthClient, internalClient, unaryCall } from "../../shared/grpc";
import { StreamPool } from "../../shared/stream-pool";
import { serializePutBlobsRequest } from "./put-blobs-serializer";
import type { BlobRef, WriteOutcome } from "../../shared/blob";
import type { AudioRecord, CaptureEventRecord, CompleteResult, FrameRecord, MetadataService, OpenSessionParams, SessionLease, SessionSummary, StorageService } from "../core/ports";

export interface ClientOptions {
  /** Parallel streams for the hot path. */
  streams: number;
  /** Deadline of one call or stream item, in ms. */
  timeoutMs: number;
  /** Items per hot-path stream message at most. */
  batchItems: number;
  /** Bytes per hot-path stream message at most (a bigger item travels alone). */
  batchBytes: number;
  /** CANDID_INTERNAL_TOKEN, carried by every call and stream (internalClient). */
  internalToken: string;
}

function outcomeOf(o: PbOutcome, error: ItemError | undefined): WriteOutcome {
  if (error) throw fromItemError(error);
  if (o === PbOutcome.WRITE_OUTCOME_CREATED) return "created";
  if (o === PbOutcome.WRITE_OUTCOME_IDENTICAL) return "identical";
  if (o === PbOutcome.WRITE_OUTCOME_CONFLICT) return "conflict";
  throw new AppError("INTERNAL", `unexpected outcome ${o}`);
}

/**
 * What both clients share: a channel for unary calls, a stream pool for the hot path, and a
 * health client. Every stream lane has its own channel, so its own HTTP/2 connection: a grpc-js
 * server keeps the 64 KiB connection flow-control window of HTTP/2 (it has no option to raise
 * it, and Bun's HTTP/2 server stalls when it is raised by hand), so the blobs of all lanes on one
 * connection would move 64 KiB per window update. Behind a Kubernetes Service each connection
 * may also reach another replica.
 */
abstract class UpstreamClient<
  C extends grpc.Client,
  Item extends { requestId: number },
  Result extends { requestId: number },
  Req extends { items: Item[] },
  Res extends { results: Result[] },
> {
  protected readonly client: C;
  protected readonly pool: StreamPool<Item, Result, Req, Res>;
  private readonly laneClients: C[] = [];
  private readonly health;

  constructor(
    private readonly makeClient: (options: grpc.ChannelOptions) => C,
    address: string,
    openStream: (client: C) => grpc.ClientDuplexStream<Req, Res>,
    protected readonly opts: ClientOptions,
    sizeOf?: (item: Item) => number,
  ) {
    this.client = makeClient(CHANNEL_OPTIONS);
    this.health = healthClient(address);
    this.pool = new StreamPool<Item, Result, Req, Res>({
      open: (lane) => openStream(this.laneClient(lane)),
      streams: opts.streams,
      timeoutMs: opts.timeoutMs,
      wrap: (items) => ({ items }) as Req,
      unwrap: (res) => res.results,
      idOf: (result) => result.requestId,
      withId: (item, id) => ((item.requestId = id), item),
      sizeOf,
      maxItems: opts.batchItems,
      maxBytes: opts.batchBytes,
    });
  }

  /** The lane's own channel (a local subchannel pool: grpc-js would otherwise share one connection). */
  private laneClient(lane: number): C {
    return (this.laneClients[lane] ??= this.makeClient({ ...CHANNEL_OPTIONS, "grpc.use_local_subchannel_pool": 1 }));
  }

  ready(): Promise<boolean> {
    return checkHealth(this.health);
  }

  close(): void {
    this.pool.close();
    this.client.close();
    this.laneClients.forEach((c) => c.close());
    this.health.close();
  }
}

const PB_KIND: Record<BlobRef["kind"], BlobKind> = { audio: BlobKind.BLOB_KIND_AUDIO, frame: BlobKind.BLOB_KIND_FRAME, manifest: BlobKind.BLOB_KIND_MANIFEST };
const pbKind = (k: BlobRef["kind"]) => PB_KIND[k];
const pbRef = (r: BlobRef) => ({ sessionId: r.sessionId, kind: pbKind(r.kind), index: r.index, mediaType: r.mediaType });

/** The generated client, with PutBlobs requests serialized with one copy of the blob. */
const FastStorageClient = grpc.makeGenericClientConstructor(
  { ...StorageServiceService, putBlobs: { ...StorageServiceService.putBlobs, requestSerialize: serializePutBlobsRequest } },
  "media.v1.StorageService",
) as unknown as typeof StorageServiceClient;

export class StorageGrpcClient extends UpstreamClient<StorageServiceClient, PutBlob, PutResult, PutBlobsRequest, PutBlobsResponse> implements StorageService {
  constructor(address: string, opts: ClientOptions) {
    super((o) => internalClient(FastStorageClient, address, opts.internalToken, o), address, (c) => c.putBlobs(), opts, (p) => p.data.byteLength);
  }

  async put(ref: BlobRef, data: Uint8Array, sha256Hex: string) {
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength); // a view, not a copy
    const res = await this.pool.call({ requestId: 0, ref: pbRef(ref), data: bytes, sha256Hex });
    return { outcome: outcomeOf(res.outcome, res.error), location: res.location };
  }

  async delete(ref: BlobRef): Promise<void> {
    await unaryCall(this.client.deleteBlob.bind(this.client), { ref: pbRef(ref) }, this.opts.timeoutMs);
  }

  /** A stored blob's bytes (review: media, verify, export); AppError NOT_FOUND when there is none. */
  async get(ref: BlobRef): Promise<Uint8Array> {
    const res = await unaryCall(this.client.getBlob.bind(this.client), { ref: pbRef(ref) }, this.opts.timeoutMs);
    return res.data;
  }

}

const STATUS: Record<number, SessionSummary["status"]> = {
  [SessionStatus.SESSION_STATUS_ACTIVE]: "active",
  [SessionStatus.SESSION_STATUS_COMPLETED]: "completed",
  [SessionStatus.SESSION_STATUS_ABANDONED]: "abandoned",
};

function summary(s: SessionInfo | undefined): SessionSummary {
  if (!s) throw new AppError("INTERNAL", "metadata answered without a session");
  return {
    sessionId: s.sessionId,
    status: STATUS[s.status] ?? "active",
    totalChunks: s.totalChunks,
    totalFrames: s.totalFrames,
    startedAtMs: s.startedAtMs,
    lastActivityMs: s.lastActivityMs,
    interviewSessionId: s.hasInterviewSessionId ? s.interviewSessionId : null,
    userId: s.hasUserId ? s.userId : null,
    isConnected: s.isConnected,
  };
}

export class MetadataGrpcClient
  extends UpstreamClient<MetadataServiceClient, BlobRecord, RecordResult, RecordBlobsRequest, RecordBlobsResponse>
  implements MetadataService
{
  /** AnalysisService, served by the same metadata process (GET /sessions/{id}/analysis). */
  private readonly analysis: AnalysisServiceClient;
  /** ReviewService, served by the same metadata process (the review routes). */
  private readonly review: ReviewServiceClient;

  constructor(address: string, opts: ClientOptions) {
    super((o) => internalClient(MetadataServiceClient, address, opts.internalToken, o), address, (c) => c.recordBlobs(), opts);
    this.analysis = internalClient(AnalysisServiceClient, address, opts.internalToken);
    this.review = internalClient(ReviewServiceClient, address, opts.internalToken);
  }

  async listInterviews(limit: number, beforeId: number, onlyId: number): Promise<{ interviews: InterviewSummary[]; more: boolean }> {
    const res = await unaryCall(this.review.listInterviews.bind(this.review), { limit, beforeId, onlyInterviewSessionId: onlyId }, this.opts.timeoutMs);
    return { interviews: res.interviews, more: res.more };
  }

  async getInterview(interviewSessionId: number): Promise<{ interview: InterviewSummary; sessions: ReviewSession[] }> {
    const res = await unaryCall(this.review.getInterview.bind(this.review), { interviewSessionId }, this.opts.timeoutMs);
    if (!res.interview) throw new AppError("INTERNAL", "metadata answered without an interview");
    return { interview: res.interview, sessions: res.sessions };
  }

  async sessionItems(sessionId: string, chunksAfter: number, framesAfter: number, limit: number): Promise<SessionItemsPage> {
    return unaryCall(this.review.listSessionItems.bind(this.review), { sessionId, chunksAfter, framesAfter, limit }, this.opts.timeoutMs);
  }

  async seal(sessionId: string, manifestSha256: string): Promise<{ sealedAtMs: number }> {
    return unaryCall(this.review.sealSession.bind(this.review), { sessionId, manifestSha256 }, this.opts.timeoutMs);
  }

  async sessionAnalysis(sessionId: string, chunksAfter: number, framesAfter: number, limit: number): Promise<AnalysisPage> {
    const res = await unaryCall(this.analysis.getSessionAnalysis.bind(this.analysis), { sessionId, chunksAfter, framesAfter, limit }, this.opts.timeoutMs);
    return {
      chunks: res.chunks.map((c) => ({ ...c, transcription: c.transcription ?? null })),
      frames: res.frames,
      moreChunks: res.moreChunks,
      moreFrames: res.moreFrames,
      timing: res.timing,
      frameCounts: res.frameCounts ?? { total: 0, processed: 0, failed: 0, withoutFace: 0, black: 0, frozen: 0 },
      captureEvents: res.captureEvents,
      timelineStartMs: res.timelineStartMs,
    };
  }

  override close(): void {
    this.analysis.close();
    this.review.close();
    super.close();
  }

  async openSession(p: OpenSessionParams) {
    const res = await unaryCall(
      this.client.openSession.bind(this.client),
      {
        sessionId: p.sessionId,
        interviewSessionId: p.interviewSessionId ?? 0,
        hasInterviewSessionId: p.interviewSessionId !== null,
        userId: p.userId ?? 0,
        hasUserId: p.userId !== null,
        storagePath: p.storagePath,
        ownerInstance: p.ownerInstance,
      },
      this.opts.timeoutMs,
    );
    const stored = res.stored
      ? {
          chunks: res.stored.chunks.map((r): IndexRange => [r.first, r.last]),
          frames: res.stored.frames.map((r): IndexRange => [r.first, r.last]),
          truncated: res.stored.chunksTruncated || res.stored.framesTruncated,
        }
      : null;
    return { resumed: res.resumed, stored, ownerEpoch: res.ownerEpoch };
  }

  async recordAudio(r: AudioRecord): Promise<WriteOutcome> {
    const res = await this.pool.call({
      requestId: 0,
      item: {
        $case: "audio",
        value: {
          sessionId: r.sessionId,
          chunkIndex: r.chunkIndex,
          filePath: r.location,
          fileSize: r.size,
          mimeType: r.mediaType,
          startTimestampMs: r.startMs,
          endTimestampMs: r.endMs,
          durationMs: r.durationMs,
          sha256Hex: r.sha256Hex,
          ownerEpoch: r.ownerEpoch,
        },
      },
    });
    return outcomeOf(res.outcome, res.error);
  }

  async recordFrame(r: FrameRecord): Promise<WriteOutcome> {
    const res = await this.pool.call({
      requestId: 0,
      item: {
        $case: "frame",
        value: {
          sessionId: r.sessionId,
          frameIndex: r.frameIndex,
          chunkIndex: r.chunkIndex,
          filePath: r.location,
          fileSize: r.size,
          mimeType: r.mediaType,
          timestampMs: r.timestampMs,
          offsetMs: r.offsetMs,
          sha256Hex: r.sha256Hex,
          ownerEpoch: r.ownerEpoch,
        },
      },
    });
    return outcomeOf(res.outcome, res.error);
  }

  async completeSession(p: { sessionId: string; totalChunks: number; totalFrames: number; ownerEpoch: number }): Promise<CompleteResult> {
    const res = await unaryCall(this.client.completeSession.bind(this.client), p, this.opts.timeoutMs);
    return { session: summary(res.session), missingChunks: res.missingChunkIndices, missingFrames: res.missingFrameIndices };
  }

  async renewLeases(ownerInstance: string, leases: readonly SessionLease[]): Promise<string[]> {
    const res = await unaryCall(this.client.renewLeases.bind(this.client), { ownerInstance, leases: [...leases] }, this.opts.timeoutMs);
    return res.lostSessionIds;
  }

  async releaseSession(p: SessionLease & { ownerInstance: string }): Promise<boolean> {
    const res = await unaryCall(this.client.releaseSession.bind(this.client), p, this.opts.timeoutMs);
    return res.released;
  }

  async recordCaptureEvent(e: CaptureEventRecord): Promise<WriteOutcome> {
    const res = await unaryCall(this.client.recordCaptureEvent.bind(this.client), e, this.opts.timeoutMs);
    return outcomeOf(res.outcome, undefined);
  }

  async status(sessionId: string): Promise<SessionSummary> {
    const res = await unaryCall(this.client.getSessionStatus.bind(this.client), { sessionId }, this.opts.timeoutMs);
    return summary(res.session);
  }

  async createInterviewSession(title: string, retentionDays: number | null = null): Promise<number> {
    const res = await unaryCall(this.client.createInterviewSession.bind(this.client), { title, retentionDays: retentionDays ?? undefined }, this.opts.timeoutMs);
    return res.interviewSessionId;
  }

  /** Resolves when the interview session exists; AppError INTERVIEW_SESSION_NOT_FOUND otherwise. */
  async getInterviewSession(interviewSessionId: number): Promise<void> {
    await unaryCall(this.client.getInterviewSession.bind(this.client), { interviewSessionId }, this.opts.timeoutMs);
  }

}
