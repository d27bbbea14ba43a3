/**
 * @module stream-pool
 * Request/response over long-lived bidirectional gRPC streams: the gateway's hot path.
 *
 * One unary call per blob tops out near a thousand calls per second with grpc-js; a few open
 * streams carry the same traffic with a fraction of the per-call cost. Every request carries a
 * `requestId`; the server answers each exactly once with the same id, in completion order. The
 * pool spreads requests over `streams` streams (least loaded first), opens them lazily, and when
 * a stream breaks it fails only that stream's pending requests with UPSTREAM_UNAVAILABLE and
 * opens a fresh one for the next request. A request with no answer after `timeoutMs` also fails
 * with UPSTREAM_UNAVAILABLE: the caller never acks what it cannot prove was stored.
 */
import type { ClientDuplexStream } from "@grpc/grpc-js";
import { AppError } from "./errors";
import { fromGrpcError } from "./grpc";

interface Pending<Res> {
  resolve(res: Res): void;
  reject(err: AppError): void;
  timer: ReturnType<typeof setTimeout>;
}

interface Lane<Req, Res> {
  stream: ClientDuplexStream<Req, Res>;
  pending: Map<number, Pending<Res>>;
  broken: boolean;
}

export interface StreamPoolOptions<Req, Res> {
  /** Opens one new bidirectional stream. */
  open: () => ClientDuplexStream<Req, Res>;
  /** Number of parallel streams. */
  streams: number;
  /** Per-request deadline in milliseconds. */
  timeoutMs: number;
  idOf: (res: Res) => number;
  withId: (req: Req, id: number) => Req;
}

export class StreamPool<Req, Res> {
  private readonly lanes: Array<Lane<Req, Res> | undefined>;
  private nextId = 1;
  private closed = false;

  constructor(private readonly opts: StreamPoolOptions<Req, Res>) {
    this.lanes = new Array(Math.max(1, opts.streams)).fill(undefined);
  }

  /** Requests waiting for an answer, over all streams. */
  get inFlight(): number {
    return this.lanes.reduce((n, l) => n + (l?.pending.size ?? 0), 0);
  }

  call(req: Req): Promise<Res> {
    if (this.closed) return Promise.reject(new AppError("UPSTREAM_UNAVAILABLE", "client is closed"));
    const lane = this.pickLane();
    const id = this.nextId++;
    if (this.nextId > Number.MAX_SAFE_INTEGER) this.nextId = 1;
    return new Promise<Res>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (lane.pending.delete(id)) reject(new AppError("UPSTREAM_UNAVAILABLE", `no answer within ${this.opts.timeoutMs} ms`));
      }, this.opts.timeoutMs);
      lane.pending.set(id, { resolve, reject, timer });
      try {
        lane.stream.write(this.opts.withId(req, id));
      } catch (err) {
        this.breakLane(lane, err);
      }
    });
  }

  close(): void {
    this.closed = true;
    for (const lane of this.lanes) {
      if (!lane) continue;
      this.breakLane(lane, new AppError("UPSTREAM_UNAVAILABLE", "client is closing"));
    }
  }

  private pickLane(): Lane<Req, Res> {
    let best = -1;
    let bestLoad = Infinity;
    for (let i = 0; i < this.lanes.length; i++) {
      const lane = this.lanes[i];
      if (!lane || lane.broken) return (this.lanes[i] = this.openLane());
      if (lane.pending.size < bestLoad) {
        best = i;
        bestLoad = lane.pending.size;
      }
    }
    return this.lanes[best]!;
  }

  private openLane(): Lane<Req, Res> {
    const lane: Lane<Req, Res> = { stream: this.opts.open(), pending: new Map(), broken: false };
    lane.stream.on("data", (res: Res) => {
      const id = this.opts.idOf(res);
      const p = lane.pending.get(id);
      if (!p) return; // timed out already
      lane.pending.delete(id);
      clearTimeout(p.timer);
      p.resolve(res);
    });
    lane.stream.on("error", (err) => this.breakLane(lane, err));
    lane.stream.on("end", () => this.breakLane(lane, new AppError("UPSTREAM_UNAVAILABLE", "stream ended")));
    return lane;
  }

  private breakLane(lane: Lane<Req, Res>, err: unknown): void {
    if (!lane.broken) {
      lane.broken = true;
      try {
        lane.stream.cancel();
      } catch {
        // already gone
      }
    }
    const appErr = err instanceof AppError && err.code === "UPSTREAM_UNAVAILABLE" ? err : fromGrpcError(err);
    const failure = appErr.code === "UPSTREAM_UNAVAILABLE" ? appErr : new AppError("UPSTREAM_UNAVAILABLE", appErr.message, {}, { cause: err });
    for (const [id, p] of lane.pending) {
      lane.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(failure);
    }
  }
}
