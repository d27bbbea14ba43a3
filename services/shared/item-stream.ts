/**
 * @module item-stream
 * The server side of Candid's hot-path streams (PutBlobs, RecordBlobs): every request on a
 * bidirectional stream is one item, answered exactly once by `handle`, in completion order.
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

export function serveItemStream<Req, Res>(
  call: grpc.ServerDuplexStream<Req, Res>,
  handle: (req: Req) => Promise<Res>,
  opts: { maxInFlight: number; log: Logger; onClose?: (why: string, items: number) => void },
): void {
  const max = Math.max(1, opts.maxInFlight);
  let inFlight = 0;
  let received = 0;
  let paused = false;
  let clientDone = false;
  let closed = false;

  const close = (why: string) => {
    if (closed) return;
    closed = true;
    opts.onClose?.(why, received);
  };
  const maybeEnd = () => {
    if (clientDone && inFlight === 0 && !closed) {
      close("client finished");
      call.end();
    }
  };

  call.on("data", (req: Req) => {
    received++;
    inFlight++;
    if (!paused && inFlight >= max) {
      paused = true;
      call.pause();
    }
    handle(req).then(
      (res) => {
        inFlight--;
        if (!closed && !call.cancelled) call.write(res);
        if (paused && inFlight <= max / 2) {
          paused = false;
          call.resume();
        }
        maybeEnd();
      },
      (err) => {
        close("handler failed");
        call.destroy(Object.assign(new Error("internal error"), toGrpcError(err, opts.log)));
      },
    );
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
