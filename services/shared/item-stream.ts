/**
 * @module item-stream
 * The server side of Candid's hot-path streams (PutBlobs, RecordBlobs): a request message carries
 * one or more items (`unwrap`), every item is answered exactly once by `handle`, in completion
 * order, and the answers that complete in the same turn of the event loop travel in one response
 * message (`wrap`) — a batch made durable together is answered with one message.
 *
 * At most `maxInFlight` items are handled at once per stream: past that the stream is paused
 * (grpc-js stops reading, HTTP/2 flow control pushes back on the sender) and resumed once half
 * of them are answered. When the client ends its side, the server ends its own after the last
 * answer. `handle` must resolve with an answer for every item, errors included (a per-item error
 * never ends the stream); should it reject anyway, the stream fails with INTERNAL.
 */
import type * as grpc from "@grpc/grpc-js";
import { toGrpcError } from "./grpc";
import type { Logger } from "./log";

export interface ItemStreamOptions<Req, Res, Item, Result> {
  /** The items one request message carries. */
  unwrap: (req: Req) => Item[];
  /** Answers → one response message. */
  wrap: (results: Result[]) => Res;
  maxInFlight: number;
  log: Logger;
  /** Called once when the stream is over, with why and how many items it carried. */
  onClose?: (why: string, items: number) => void;
}

export function serveItemStream<Req, Res, Item, Result>(
  call: grpc.ServerDuplexStream<Req, Res>,
  handle: (item: Item) => Promise<Result>,
  opts: ItemStreamOptions<Req, Res, Item, Result>,
): void {
  const max = Math.max(1, opts.maxInFlight);
  let inFlight = 0;
  let received = 0;
  let paused = false;
  let clientDone = false;
  let closed = false;
  let outbox: Result[] = [];
  let flushScheduled = false;

  const close = (why: string) => {
    if (closed) return;
    closed = true;
    opts.onClose?.(why, received);
  };
  const maybeEnd = () => {
    if (clientDone && inFlight === 0 && outbox.length === 0 && !closed) {
      close("client finished");
      call.end();
    }
  };
  const flush = () => {
    flushScheduled = false;
    const results = outbox;
    outbox = [];
    if (results.length && !closed && !call.cancelled) call.write(opts.wrap(results));
    if (paused && inFlight <= max / 2) {
      paused = false;
      call.resume();
    }
    maybeEnd();
  };
  const answered = (res: Result) => {
    inFlight--;
    outbox.push(res);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  };
  const failed = (err: unknown) => {
    close("handler failed");
    call.destroy(Object.assign(new Error("internal error"), toGrpcError(err, opts.log)));
  };

  call.on("data", (req: Req) => {
    for (const item of opts.unwrap(req)) {
      received++;
      inFlight++;
      handle(item).then(answered, failed);
    }
    if (!paused && inFlight >= max) {
      paused = true;
      call.pause();
    }
  });
  call.on("end", () => {
    clientDone = true;
    maybeEnd();
  });
  call.on("cancelled", () => close("cancelled by client"));
  call.on("error", (err) => {
    opts.log.debug("item stream error", { err });
    close("error");
  });
}
