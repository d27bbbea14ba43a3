/**
 * @module gateway/ws-server
 * Binds Bun.serve's WebSocket callbacks to one core StreamSession per connection. Bun hands us a
 * fresh buffer per message, so the core may keep a view of it while the blob is being stored.
 *
 * Outgoing messages are batched per event-loop turn and written corked (one write for many acks).
 * `ws.send` returns -1 when the message was queued under backpressure (fine) and 0 when Bun
 * DROPPED it because the buffer passed backpressureLimit: a dropped ack breaks the protocol's
 * promise, so the connection is closed (1013) and the client reconnects and re-sends.
 *
 * The transport's own closes (1012, 1013) and the endpoint's HTTP answers (426, 503; the abuse
 * limits' 403 / 503 and closes 4408 / 4410 / 4430 come from connection-guard.ts) come from the
 * error table (proto/wire/errors.ts CLOSES, services/shared/errors.ts ENDPOINT_ANSWERS), like the
 * error closes StreamSession sends.
 */
import type { ServerWebSocket, WebSocketHandler } from "bun";
import { CLOSES, type ServerMessage } from "../../../proto/wire";
import { AppError, ENDPOINT_ANSWERS, endpointAnswer, toCloseFrame, toErrorMessage } from "../../shared/errors";
import type { Logger } from "../../shared/log";
import { StreamSession, type SessionDeps } from "../core/stream-session";
import type { ConnectionGuard, ConnectionWatch } from "./connection-guard";
import type { GatewayMetrics } from "./metrics";

export interface WsData {
  session?: StreamSession;
  connId: number;
  /** The client's IP, as the connection limits count it. */
  ip: string;
  /** The connection's abuse limits (connection-guard.ts). */
  watch?: ConnectionWatch | null;
}

export const MEDIA_STREAM_PATH = "/ws/media-stream";

/** The media endpoint's HTTP answer when it does not upgrade: 426 (not a WebSocket request) or 503 (draining). */
export function refuseUpgrade(why: keyof typeof ENDPOINT_ANSWERS): Response {
  const { status, body } = endpointAnswer(why);
  return Response.json(body, { status });
}

/** Closes a connection because the gateway is restarting (1012): the client reconnects (to another replica) and re-sends. */
export function closeServiceRestart(ws: ServerWebSocket<WsData>): void {
  if (ws.data.session) ws.data.session.restart(); // flushes the queued acks first
  else ws.close(CLOSES.SERVICE_RESTART.code, CLOSES.SERVICE_RESTART.reason);
}

export function createWsHandler(opts: {
  deps: Omit<SessionDeps, "send" | "close">;
  metrics: GatewayMetrics;
  log: Logger;
  maxPayloadBytes: number;
  /** Bytes queued per socket before Bun drops a send (then we close 1013). */
  backpressureLimitBytes: number;
  /** Seconds of silence before Bun closes a socket; 0 = never. */
  idleTimeoutSeconds: number;
  open: Set<ServerWebSocket<WsData>>;
  /** Connection slots, init / idle deadlines, message rate. */
  guard: ConnectionGuard;
}): WebSocketHandler<WsData> {
  const { log, metrics } = opts;
  return {
    maxPayloadLength: opts.maxPayloadBytes,
    backpressureLimit: opts.backpressureLimitBytes,
    idleTimeout: opts.idleTimeoutSeconds,
    sendPings: true,
    perMessageDeflate: false,
    open(ws) {
      opts.open.add(ws);
      metrics.connections.inc();
      // Messages are queued and written together once the current burst of work is done (acks of
      // one upstream batch resolve together): one corked write instead of one syscall each.
      let queued: string[] = [];
      const flush = () => {
        const batch = queued;
        queued = [];
        if (ws.readyState !== 1 || batch.length === 0) return;
        ws.cork(() => {
          for (const text of batch) {
            if (ws.send(text) === 0) {
              log.warn("ack dropped under backpressure; closing", { connId: ws.data.connId, sessionId: ws.data.session?.sessionId });
              ws.close(CLOSES.TRY_AGAIN_LATER.code, CLOSES.TRY_AGAIN_LATER.reason);
              return;
            }
          }
        });
      };
      const send = (msg: ServerMessage) => {
        if (ws.readyState !== 1) return;
        if (queued.push(JSON.stringify(msg)) === 1) setImmediate(flush);
      };
      ws.data.session = new StreamSession({
        ...opts.deps,
        send,
        close: (code, reason) => {
          flush(); // what was said before the close goes out first
          ws.close(code, reason);
        },
      });
      const session = ws.data.session;
      ws.data.watch = opts.guard.watch(ws.data.ip, {
        isReady: () => session.sessionId !== null,
        closeWith: (code, message) => {
          const e = new AppError(code, message);
          metrics.errors.inc({ code });
          send(toErrorMessage(e));
          flush();
          const frame = toCloseFrame(e)!;
          ws.close(frame.code, frame.reason);
        },
        closeTryAgain: () => ws.close(CLOSES.TRY_AGAIN_LATER.code, "TOO_MANY_CONNECTIONS"),
      });
    },
    message(ws, message) {
      if (!ws.data.watch?.message()) return; // refused by a limit (or never admitted): the socket is closing
      const s = ws.data.session!;
      if (typeof message === "string") void s.receiveText(message, Buffer.byteLength(message));
      else void s.receiveBinary(message);
    },
    close(ws, code) {
      opts.open.delete(ws);
      metrics.connections.dec();
      ws.data.watch?.closed();
      const s = ws.data.session;
      if (s) {
        if (s.sessionId) log.info("connection closed", { connId: ws.data.connId, sessionId: s.sessionId, code });
        s.disconnected();
      }
    },
  };
}
