/**
 * @module stream-pool
 * Request/response over long-lived bidirectional gRPC streams: the gateway's hot path.
 *
 * One unary call per blob tops out near a thousand calls per second with grpc-js; a few open
 * streams carry the same traffic with a fraction of the per-call cost. Every item carries a
 * `requestId`; the server answers each exactly once with the same id, in completion order.
 *
 * Items are coalesced: those called in the same turn of the event loop go out together, as one
 * message per stream (`wrap`), up to `maxItems` items or `maxBytes` bytes per message, and one
 * response may answer several items (`unwrap`). That saves a gRPC message, and its framing and
 * callbacks on both sides, per item.
 *
 * The pool spreads items over `streams` streams (least loaded first), opens them lazily, and when
 * a stream breaks it fails only that stream's pending items with UPSTREAM_UNAVAILABLE and opens a
 * fresh one for the next item. An item with no answer after `timeoutMs` also fails with
 * UPSTREAM_UNAVAILABLE: the caller never acks what it cannot prove was stored.
 */
import type { ClientDuplexStream } from "@grpc/grpc-js";
import { AppError } from "./errors";
import { fromGrpcError } from "./grpc";

interface Pending<Result> {
  resolve(res: Result): void;
  reject(err: AppError): void;
  timer: ReturnType<typeof setTimeout>;
}

interface Lane<Item, Result, Req, Res> {
  stream: ClientDuplexStream<Req, Res>;
  pending: Map<number, Pending<Result>>;
  /** Items waiting for this turn's flush. */
  outbox: Item[];
  outboxBytes: number;
  broken: boolean;
}

export interface StreamPoolOptions<Item, Result, Req, Res> {
  /** Opens one new bidirectional stream for lane `lane` (0 … streams-1; again after a break). */
  open: (lane: number) => ClientDuplexStream<Req, Res>;
  /** Number of parallel streams. */
  streams: number;
  /** Per-item deadline in milliseconds. */
  timeoutMs: number;
  /** Items → one request message. */
  wrap: (items: Item[]) => Req;
  /** One response message → the answers it carries. */
  unwrap: (res: Res) => Result[];
  idOf: (result: Result) => number;
  withId: (item: Item, id: number) => Item;
  /** Bytes an item adds to a message (default 0: only `maxItems` limits a message). */
  sizeOf?: (item: Item) => number;
  /** Items per message at most. */
  maxItems: number;
  /** Bytes per message at most; a larger item travels alone. */
  maxBytes: number;
}

export class StreamPool<Item, Result, Req, Res> {
  private readonly lanes: Array<Lane<Item, Result, Req, Res> | undefined>;
  private readonly maxItems: number;
  private readonly maxBytes: number;
  private nextId = 1;
  private closed = false;
  private flushScheduled = false;

  constructor(private readonly opts: StreamPoolOptions<Item, Result, Req, Res>) {
    this.lanes = new Array(Math.max(1, opts.streams)).fill(undefined);
    this.maxItems = Math.max(1, opts.maxItems);
    this.maxBytes = opts.maxBytes;
  }

  /** Items waiting for an answer, over all streams. */
  get inFlight(): number {
    return this.lanes.reduce((n, l) => n + (l?.pending.size ?? 0), 0);
  }

  call(item: Item): Promise<Result> {
    if (this.closed) return Promise.reject(new AppError("UPSTREAM_UNAVAILABLE", "client is closed"));
    const lane = this.pickLane();
    const id = this.nextId++;
    if (this.nextId > Number.MAX_SAFE_INTEGER) this.nextId = 1;
    return new Promise<Result>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (lane.pending.delete(id)) reject(new AppError("UPSTREAM_UNAVAILABLE", `no answer within ${this.opts.timeoutMs} ms`));
      }, this.opts.timeoutMs);
      lane.pending.set(id, { resolve, reject, timer });
      const size = this.opts.sizeOf?.(item) ?? 0;
      if (lane.outbox.length >= this.maxItems || (lane.outbox.length > 0 && lane.outboxBytes + size > this.maxBytes)) this.send(lane);
      lane.outbox.push(this.opts.withId(item, id));
      lane.outboxBytes += size;
      this.scheduleFlush();
    });
  }

  close(): void {
    this.closed = true;
    for (const lane of this.lanes) {
      if (!lane) continue;
      this.breakLane(lane, new AppError("UPSTREAM_UNAVAILABLE", "client is closing"));
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // The next turn, not a microtask: every item of this turn (all the WebSocket messages read in
    // one poll, all the answers of one upstream batch) joins the same message.
    setImmediate(() => {
      this.flushScheduled = false;
      for (const lane of this.lanes) if (lane && lane.outbox.length) this.send(lane);
    });
  }

  private send(lane: Lane<Item, Result, Req, Res>): void {
    const items = lane.outbox;
    lane.outbox = [];
    lane.outboxBytes = 0;
    if (lane.broken) return; // its pending items were failed already
    try {
      lane.stream.write(this.opts.wrap(items));
    } catch (err) {
      this.breakLane(lane, err);
    }
  }

  private pickLane(): Lane<Item, Result, Req, Res> {
    let best = -1;
    let bestLoad = Infinity;
    for (let i = 0; i < this.lanes.length; i++) {
      const lane = this.lanes[i];
      if (!lane || lane.broken) return (this.lanes[i] = this.openLane(i));
      if (lane.pending.size < bestLoad) {
        best = i;
        bestLoad = lane.pending.size;
      }
    }
    return this.lanes[best]!;
  }

  private openLane(index: number): Lane<Item, Result, Req, Res> {
    const lane: Lane<Item, Result, Req, Res> = { stream: this.opts.open(index), pending: new Map(), outbox: [], outboxBytes: 0, broken: false };
    lane.stream.on("data", (res: Res) => {
      for (const result of this.opts.unwrap(res)) {
        const id = this.opts.idOf(result);
        const p = lane.pending.get(id);
        if (!p) continue; // timed out already
        lane.pending.delete(id);
        clearTimeout(p.timer);
        p.resolve(result);
      }
    });
    lane.stream.on("error", (err) => this.breakLane(lane, err));
    lane.stream.on("end", () => this.breakLane(lane, new AppError("UPSTREAM_UNAVAILABLE", "stream ended")));
    return lane;
  }

  private breakLane(lane: Lane<Item, Result, Req, Res>, err: unknown): void {
    if (!lane.broken) {
      lane.broken = true;
      try {
        lane.stream.cancel();
      } catch {
        // already gone
      }
    }
    lane.outbox = [];
    lane.outboxBytes = 0;
    const appErr = err instanceof AppError && err.code === "UPSTREAM_UNAVAILABLE" ? err : fromGrpcError(err);
    const failure = appErr.code === "UPSTREAM_UNAVAILABLE" ? appErr : new AppError("UPSTREAM_UNAVAILABLE", appErr.message, {}, { cause: err });
    for (const [id, p] of lane.pending) {
      lane.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(failure);
    }
  }
}
