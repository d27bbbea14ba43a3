/**
 * @module gateway/ws-server
 * Binds Bun.serve's WebSocket callbacks to one core StreamSession per connection. Bun hands us a
 * fresh buffer per message, so the core may keep a view of it while the blob is being stored.
 *
 * `ws.send` returns -1 when the message was queued under backpressure (fine) and 0 when Bun
 * DROPPED it because the buffer passed backpressureLimit: a dropped ack breaks the protocol's
 * promise, so the connection is closed (1013) and the client reconnects and re-sends.
 */
import type { ServerWebSocket, WebSocketHandler } from "bun";
import type { ServerMessage } from "../../../proto/wire";
import type { Logger } from "../../shared/log";
import { StreamSession, type SessionDeps } from "../core/stream-session";
import type { GatewayMetrics } from "./metrics";

export interface WsData {
  session?: StreamSession;
  connId: number;
}

export const MEDIA_STREAM_PATH = "/ws/media-stream";

export function createWsHandler(opts: {
  deps: Omit<SessionDeps, "send" | "close">;
  metrics: GatewayMetrics;
  log: Logger;
  maxPayloadBytes: number;
  open: Set<ServerWebSocket<WsData>>;
}): WebSocketHandler<WsData> {
  const { log, metrics } = opts;
  return {
    maxPayloadLength: opts.maxPayloadBytes,
    backpressureLimit: 16 * 1024 * 1024,
    idleTimeout: 120,
    sendPings: true,
    perMessageDeflate: false,
    open(ws) {
      opts.open.add(ws);
      metrics.connections.inc();
      const send = (msg: ServerMessage) => {
        if (ws.readyState !== 1) return;
        if (ws.send(JSON.stringify(msg)) === 0) {
          log.warn("ack dropped under backpressure; closing", { connId: ws.data.connId, sessionId: ws.data.session?.sessionId });
          ws.close(1013, "BACKPRESSURE");
        }
      };
      ws.data.session = new StreamSession({
        ...opts.deps,
        send,
        close: (code, reason) => ws.close(code, reason),
      });
    },
    message(ws, message) {
      const s = ws.data.session!;
      if (typeof message === "string") void s.receiveText(message);
      else void s.receiveBinary(message);
    },
    close(ws, code) {
      opts.open.delete(ws);
      metrics.connections.dec();
      const s = ws.data.session;
      if (s) {
        if (s.sessionId) log.info("connection closed", { connId: ws.data.connId, sessionId: s.sessionId, code });
        s.disconnected();
      }
    },
  };
}
