/**
 * @module processor/adapters/grpc-ports
 * The processor's WorkQueue (media.v1.AnalysisService on the metadata service) and BlobReader
 * (media.v1.StorageService GetBlob) over grpc-js, with the internal token on every call. The
 * wire's enums and "unset" zeros are translated here, once.
 */
import { AnalysisKind, AnalysisServiceClient, type AnalysisWorkItem } from "../../../proto/gen/media/v1/analysis";
import { BlobKind } from "../../../proto/gen/media/v1/common";
import { StorageServiceClient } from "../../../proto/gen/media/v1/storage";
import { AppError } from "../../shared/errors";
import { internalClient, unaryCall } from "../../shared/grpc";
import type { BlobReader, ClaimedItem, ItemKind, WorkQueue } from "../core/ports";

const KIND: Record<ItemKind, AnalysisKind> = { audio: AnalysisKind.ANALYSIS_KIND_AUDIO, frame: AnalysisKind.ANALYSIS_KIND_FRAME };

function fromProto(i: AnalysisWorkItem): ClaimedItem {
  const kind: ItemKind = i.kind === AnalysisKind.ANALYSIS_KIND_AUDIO ? "audio" : "frame";
  return {
    kind,
    rowId: i.rowId,
    attempt: i.attempt,
    sessionId: i.sessionId,
    index: i.index,
    mediaType: i.mediaType,
    sha256Hex: i.sha256Hex,
    fileSize: i.fileSize,
    startMs: i.startMs,
    endMs: i.endMs,
    chunkIndex: i.chunkIndex,
    offsetMs: i.offsetMs,
    timestampMs: i.timestampMs,
  };
}

export class GrpcWorkQueue implements WorkQueue {
  private readonly client: AnalysisServiceClient;
  constructor(
    address: string,
    token: string,
    private readonly o: { worker: string; leaseMs: number; claimMaxAttempts: number; timeoutMs: number },
  ) {
    this.client = internalClient(AnalysisServiceClient, address, token);
  }

  async claim(kinds: readonly ItemKind[], limit: number): Promise<ClaimedItem[]> {
    const res = await unaryCall(
      this.client.claimAnalysisWork.bind(this.client),
      { worker: this.o.worker, kinds: kinds.map((k) => KIND[k]), limit, leaseMs: this.o.leaseMs, maxAttempts: this.o.claimMaxAttempts },
      this.o.timeoutMs,
    );
    return res.items.map(fromProto);
  }

  async complete(item: ClaimedItem, analysisJson: string, transcription: string | null): Promise<void> {
    await unaryCall(
      this.client.completeAnalysisWork.bind(this.client),
      { worker: this.o.worker, kind: KIND[item.kind], rowId: item.rowId, attempt: item.attempt, analysisJson, transcription: transcription ?? undefined },
      this.o.timeoutMs,
    );
  }

  async fail(item: ClaimedItem, f: { reason: string; permanent: boolean; retryAfterMs: number; maxAttempts: number }): Promise<boolean> {
    const res = await unaryCall(
      this.client.failAnalysisWork.bind(this.client),
      { worker: this.o.worker, kind: KIND[item.kind], rowId: item.rowId, attempt: item.attempt, ...f },
      this.o.timeoutMs,
    );
    return res.failed;
  }

  close(): void {
    this.client.close();
  }
}

export class GrpcBlobReader implements BlobReader {
  private readonly client: StorageServiceClient;
  constructor(
    address: string,
    token: string,
    private readonly timeoutMs: number,
  ) {
    this.client = internalClient(StorageServiceClient, address, token);
  }

  async get(ref: { sessionId: string; kind: ItemKind; index: number; mediaType: string }): Promise<{ data: Uint8Array; sha256Hex: string } | null> {
    try {
      const res = await unaryCall(
        this.client.getBlob.bind(this.client),
        { ref: { sessionId: ref.sessionId, kind: ref.kind === "audio" ? BlobKind.BLOB_KIND_AUDIO : BlobKind.BLOB_KIND_FRAME, index: ref.index, mediaType: ref.mediaType } },
        this.timeoutMs,
      );
      return { data: res.data, sha256Hex: res.sha256Hex };
    } catch (err) {
      if (err instanceof AppError && err.code === "NOT_FOUND") return null;
      throw err;
    }
  }

  close(): void {
    this.client.close();
  }
}
