/**
 * @module grpc
 * What every gRPC service and client of Candid shares:
 *  - `toGrpcError` / `fromGrpcError`: the one mapping between AppError and gRPC status. The code
 *    travels in the `candid-error-code` trailer so the far side gets the exact AppError back;
 *  - `toItemError` / `fromItemError`: the same for one item of a PutBlobs / RecordBlobs stream,
 *    whose error travels in its result (an `ItemError`), not in the stream's status;
 *  - `startGrpcServer`: binds, registers the standard health service, and stops gracefully;
 *  - `checkHealth`: the client side of grpc.health.v1 (the gateway's /readyz uses it);
 *  - the internal token (CANDID_INTERNAL_TOKEN): `internalClient` makes every client carry
 *    `authorization: Bearer <token>` on every call, and `startGrpcServer({internalToken})` refuses
 *    any call without it (UNAUTHENTICATED, INTERNAL_TOKEN_INVALID) except grpc.health.v1, which
 *    kubelet probes and the launcher call without credentials.
 *
 * grpc-js refuses to compose call credentials with insecure channel credentials (the channels
 * here are plaintext inside a cluster or on 127.0.0.1), so the token rides in a client
 * interceptor and is checked by a server interceptor; both see unary calls and streams alike.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import {
  HealthCheckResponse_ServingStatus,
  HealthClient,
  HealthService,
  type HealthServer,
} from "../../proto/gen/grpc/health/v1/health";
import type { ItemError } from "../../proto/gen/media/v1/common";
import { AppError, isErrorCode, publicMessage, toAppError } from "./errors";
import type { Logger } from "./log";

export const ERROR_CODE_KEY = "candid-error-code";

/** Large blobs (8 MiB audio) plus framing must fit in one message. */
export const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
  "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  "grpc.keepalive_time_ms": 20_000,
  "grpc.keepalive_timeout_ms": 10_000,
  "grpc.keepalive_permit_without_calls": 1,
  // Channelz bookkeeping runs on every call and stream; nothing here reads it.
  "grpc.enable_channelz": 0,
};

/** Metadata key of the internal token; the value is `Bearer <token>`. */
export const INTERNAL_AUTH_KEY = "authorization";

/** Shortest CANDID_INTERNAL_TOKEN accepted, in bytes. */
export const MIN_INTERNAL_TOKEN_BYTES = 32;

/** Services a caller may reach without the internal token (probes). */
const OPEN_SERVICE_PREFIX = "/grpc.health.v1.Health/";

/** A client interceptor adding the internal token to every call's metadata. */
export function internalTokenInterceptor(token: string): grpc.Interceptor {
  const value = `Bearer ${token}`;
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.set(INTERNAL_AUTH_KEY, value);
        next(metadata, listener);
      },
    });
}

type ClientConstructor<C> = new (address: string, credentials: grpc.ChannelCredentials, options?: grpc.ClientOptions) => C;

/**
 * A client of one of Candid's internal services: plaintext channel, CHANNEL_OPTIONS (plus
 * `options`), and the internal token on every call. Every internal client is made here.
 *
 * @example
 * const client = internalClient(MetadataServiceClient, "127.0.0.1:50052", config.internalToken);
 */
export function internalClient<C>(Client: ClientConstructor<C>, address: string, token: string, options: grpc.ChannelOptions = CHANNEL_OPTIONS): C {
  return new Client(address, grpc.credentials.createInsecure(), { ...options, interceptors: [internalTokenInterceptor(token)] });
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * The server side: a call whose `authorization` metadata is not exactly `Bearer <token>` is
 * answered UNAUTHENTICATED before its handler runs, so it changes nothing. Both sides are hashed
 * first, so the comparison takes the same time whatever the length or content of the guess. The
 * presented value is never logged.
 */
export function internalTokenServerInterceptor(token: string): grpc.ServerInterceptor {
  const expected = digest(`Bearer ${token}`);
  const valid = (md: grpc.Metadata) => {
    const values = md.get(INTERNAL_AUTH_KEY);
    return values.length === 1 && typeof values[0] === "string" && timingSafeEqual(digest(values[0]), expected);
  };
  return (method, call) => {
    if (method.path.startsWith(OPEN_SERVICE_PREFIX)) return new grpc.ServerInterceptingCall(call);
    let refused = false;
    const intercepted: grpc.ServerInterceptingCall = new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (md, mdNext) => {
            if (valid(md)) return mdNext(md);
            refused = true;
            const { code, details, metadata } = toGrpcError(new AppError("INTERNAL_TOKEN_INVALID"));
            intercepted.sendStatus({ code: code!, details: details!, metadata });
          },
          // The handler never starts for a refused call; drop anything that still arrives.
          onReceiveMessage: (msg, msgNext) => refused || msgNext(msg),
          onReceiveHalfClose: (hcNext) => refused || hcNext(),
        }),
    });
    return intercepted;
  };
}

/** AppError (or anything) -> a gRPC ServiceError. Unknown errors are logged once and sent as INTERNAL. */
export function toGrpcError(err: unknown, log?: Logger): Partial<grpc.StatusObject> {
  const app = toAppError(err);
  if (app.code === "INTERNAL") log?.error("internal error", { err: app.cause ?? err });
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_KEY, app.code);
  return {
    code: app.spec.grpc,
    details: publicMessage(app),
    metadata,
  };
}

/** An item's error for its stream result (INTERNAL's text is not sent; the caller logs its cause). */
export function toItemError(err: AppError): ItemError {
  return { code: err.code, message: publicMessage(err) };
}

/** An item result's error back as the AppError the service threw (an unknown code is INTERNAL). */
export function fromItemError(error: ItemError): AppError {
  return new AppError(isErrorCode(error.code) ? error.code : "INTERNAL", error.message || undefined);
}

/** A gRPC client error -> AppError. Transport failures become UPSTREAM_UNAVAILABLE. */
export function fromGrpcError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as Partial<grpc.ServiceError>;
  const code = e.metadata?.get(ERROR_CODE_KEY)?.[0];
  // Our own token was refused: a misconfiguration of this side, logged as INTERNAL, never relayed.
  if (code === "INTERNAL_TOKEN_INVALID") return new AppError("INTERNAL", "the upstream service refused the internal token (check CANDID_INTERNAL_TOKEN)", {}, { cause: err });
  if (isErrorCode(code)) return new AppError(code, e.details || undefined);
  if (e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.DEADLINE_EXCEEDED || e.code === grpc.status.CANCELLED) {
    // Not the transport's text: it names internal addresses ("connect ECONNREFUSED 10.0.3.7:50051"),
    // and this message reaches the browser. The cause (logged) keeps it.
    return new AppError("UPSTREAM_UNAVAILABLE", "upstream service unavailable", {}, { cause: err });
  }
  return new AppError("INTERNAL", undefined, {}, { cause: err });
}

/** Wraps a unary handler: the implementation returns a value or throws; errors are mapped here. */
export function unary<Req, Res>(log: Logger, fn: (req: Req) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request).then(
      (res) => callback(null, res),
      (err) => callback(toGrpcError(err, log) as grpc.ServiceError),
    );
  };
}

export interface GrpcService {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
}

export interface RunningGrpcServer {
  server: grpc.Server;
  port: number;
  /** Stops accepting calls, waits up to graceMs for running ones, then forces. */
  stop(graceMs?: number): Promise<void>;
}

export async function startGrpcServer(opts: {
  address: string;
  services: GrpcService[];
  /** Answers grpc.health.v1 Check; false reports NOT_SERVING. */
  healthy: () => Promise<boolean>;
  /** CANDID_INTERNAL_TOKEN: every call but health must carry it. */
  internalToken: string;
}): Promise<RunningGrpcServer> {
  const server = new grpc.Server({ ...CHANNEL_OPTIONS, interceptors: [internalTokenServerInterceptor(opts.internalToken)] });
  for (const s of opts.services) server.addService(s.definition, s.implementation);
  const health: HealthServer = {
    check: (_call, callback) => {
      opts.healthy().then(
        (ok) => callback(null, { status: ok ? HealthCheckResponse_ServingStatus.SERVING : HealthCheckResponse_ServingStatus.NOT_SERVING }),
        () => callback(null, { status: HealthCheckResponse_ServingStatus.NOT_SERVING }),
      );
    },
  };
  server.addService(HealthService, health);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(opts.address, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    server,
    port,
    stop: (graceMs = 5000) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

/** True when the service at `address` answers SERVING within timeoutMs. */
export function checkHealth(client: HealthClient, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    client.check({ service: "" }, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
      resolve(!err && res?.status === HealthCheckResponse_ServingStatus.SERVING),
    );
  });
}

export function healthClient(address: string): HealthClient {
  return new HealthClient(address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
}

/** One unary call as a promise, with a deadline; failures come back as AppError (fromGrpcError). */
export function unaryCall<Req, Res>(
  fn: (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown,
  req: Req,
  timeoutMs: number,
  /** Cancels the call (the reaper's loops stop this way). */
  signal?: AbortSignal,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    const cancel = () => (c as { cancel?: () => void } | undefined)?.cancel?.();
    const c = fn(req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
      signal?.removeEventListener("abort", cancel);
      if (err) reject(fromGrpcError(err));
      else resolve(res);
    });
    if (!signal) return;
    if (signal.aborted) cancel();
    else signal.addEventListener("abort", cancel, { once: true });
  });
}
