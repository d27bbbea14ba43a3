/**
 * @module grpc-session-reaper
 * The reaper's one port onto the metadata service: `ReapFn` mapped onto the unary RPC
 * `MetadataService.AbandonIdleSessions({idleMs, limit}) -> {sessionIds}`. The metadata service
 * owns the rule (status active and last_activity older than idleMs) and flips the rows in one
 * statement, so several reapers running at once cannot abandon a session twice.
 * gRPC failures are translated here, once, into AppError (UPSTREAM_UNAVAILABLE / INTERNAL).
 * An aborted signal cancels the call so SIGTERM does not wait for a slow database.
 */
import * as grpc from "@grpc/grpc-js";
import type { MetadataServiceClient } from "../../../proto/gen/media/v1/metadata";
import { fromGrpcError } from "../../shared/grpc";
import type { ReapFn } from "../core/reap-loop";

export function grpcSessionReaper(client: MetadataServiceClient, opts: { idleMs: number; callTimeoutMs: number }): ReapFn {
  return (limit, signal) =>
    new Promise<readonly string[]>((resolve, reject) => {
      const call = client.abandonIdleSessions(
        { idleMs: opts.idleMs, limit },
        new grpc.Metadata(),
        { deadline: Date.now() + opts.callTimeoutMs },
        (err, res) => {
          signal.removeEventListener("abort", cancel);
          if (err) reject(fromGrpcError(err));
          else resolve(res.sessionIds);
        },
      );
      const cancel = () => call.cancel();
      if (signal.aborted) cancel();
      else signal.addEventListener("abort", cancel, { once: true });
    });
}
