/**
 * @module grpc-retention-client
 * The gateway's InterviewRetention port (core/ports.ts) on media.v1.RetentionService (served by
 * the metadata service): unary calls with a deadline, errors back as the AppError the service
 * threw (fromGrpcError), ERASURE_STATE_* mapped to the port's words here, once.
 */
import { ErasureState, RetentionServiceClient } from "../../../proto/gen/media/v1/retention";
import { AppError } from "../../shared/errors";
import { internalClient, unaryCall } from "../../shared/grpc";
import type { ErasureSummary, InterviewRetention } from "../core/ports";

const STATE: Partial<Record<ErasureState, ErasureSummary["state"]>> = {
  [ErasureState.ERASURE_STATE_PENDING]: "pending",
  [ErasureState.ERASURE_STATE_RUNNING]: "running",
  [ErasureState.ERASURE_STATE_DONE]: "done",
};

export class RetentionGrpcClient implements InterviewRetention {
  private readonly client: RetentionServiceClient;

  constructor(
    address: string,
    private readonly opts: { timeoutMs: number; internalToken: string },
  ) {
    this.client = internalClient(RetentionServiceClient, address, opts.internalToken);
  }

  async requestErasure(interviewSessionId: number, apiKeyId: string): Promise<ErasureSummary> {
    const res = await unaryCall(this.client.requestErasure.bind(this.client), { interviewSessionId, requestedByKeyId: apiKeyId }, this.opts.timeoutMs);
    const state = res.erasure ? STATE[res.erasure.state] : undefined;
    if (!res.erasure || !state) throw new AppError("INTERNAL", "RequestErasure answered no erasure state");
    return { erasureId: res.erasure.erasureId, state };
  }

  async setLegalHold(interviewSessionId: number, hold: boolean): Promise<boolean> {
    return (await unaryCall(this.client.setLegalHold.bind(this.client), { interviewSessionId, hold }, this.opts.timeoutMs)).legalHold;
  }

  async setRetention(interviewSessionId: number, days: number | null): Promise<number | null> {
    const res = await unaryCall(this.client.setRetention.bind(this.client), { interviewSessionId, retentionDays: days ?? undefined }, this.opts.timeoutMs);
    return res.retentionDays ?? null;
  }

  close(): void {
    this.client.close();
  }
}
