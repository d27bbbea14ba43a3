/**
 * @module transport
 * The one WebSocket between a capture session and the gateway. Maps the Outbox onto the wire:
 *
 *   open → session_init ──session_init_ack──► ready: send window of items, each as
 *          {audio|frame}_metadata (JSON) immediately followed by [41-byte header][blob] (binary)
 *   session_init_ack `stored`  → items the server already holds (acks lost): settled as acked, not resent
 *   audio_ack / frame_ack      → item durable: drop from Outbox and from the store
 *   error + chunk/frame_index  → retry with backoff, or drop as failed (codes that drop the item)
 *   error without an index     → stop for good when the code ends the session, else carry on
 *   capture_event (events)     → sent beside the window, never in it, on every ready connection
 *                                 until capture_event_ack; an error with its event_index drops it
 *                                 (a transient one retries a few times); resent after a reconnect
 *   close / ack overdue        → inflight items back to pending; reconnect with jittered backoff,
 *                                 same session_id, and resend (the gateway re-acks duplicates)
 *   close 1012 (restart)       → reconnect at the first backoff step (another replica), resume
 *   close 4409 (taken over)    → another tab/page owns the session now: stop, do not reconnect
 *   close 4403 (TOKEN_INVALID / FORBIDDEN), or another close the table says to stop after
 *                              → refused: stop for good, `refusedCode` says why (no retry loop)
 *
 * session_init carries the session's upload token (`token`), on every (re)connect.
 *
 * Every message, code and close code comes from proto/wire (through ./wire.ts); what each error
 * code makes the client do is a column of that table (docs/errors.md).
 *
 * Browser-agnostic: the WebSocket constructor and clock are injectable so it runs under bun test.
 */
import { backoffDelayMs, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.ts';
import type { CaptureEventQueue } from './capture-events.ts';
import type { Outbox } from './outbox.ts';
import type { OutboxStore } from './outbox-store.ts';
import {
  type AudioMetadataFields,
  type BlobKind,
  CLOSES,
  encodeClientMessage,
  encodeHeader,
  endsSession,
  erroredItem,
  type ErrorCode,
  type FrameMetadataFields,
  isErrorCode,
  inRanges,
  mediaMetadata,
  type ServerMessage,
  type SessionCompleteAck,
  type StoredIndices,
  WIRE_ERRORS,
} from './wire.ts';

export type ConnectionState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed' | 'taken-over' | 'rejected';

/** What the page keeps of the gateway's session_complete_ack (proto/wire's message type). */
export type CompleteAck = Pick<SessionCompleteAck, 'total_chunks' | 'total_frames' | 'missing_chunks' | 'missing_frames'>;

export interface TransportOptions {
  url: string;
  sessionId: string;
  interviewSessionId: number;
  userId?: number;
  /** the upload token sent in session_init (minted by the web app's server side) */
  token?: string;
  outbox: Outbox;
  store: OutboxStore;
  backoff?: BackoffOptions;
  /** give up on a connection whose session_init is not acked within this (ms) */
  initTimeoutMs?: number;
  WebSocketImpl?: typeof WebSocket;
  now?: () => number;
  /** called after any change of state or counters */
  onChange?: () => void;
  /** an item left the outbox: acked (durable) or failed (never accepted) */
  onSettled?: (kind: BlobKind, index: number, outcome: 'acked' | 'failed', code?: string) => void;
  /** the page's capture_events still to be acked (capture-events.ts); sent on every ready connection */
  events?: CaptureEventQueue;
  /** an event left the queue: acked (stored), or dropped after a refusal (`code`) */
  onEventSettled?: (eventIndex: number, outcome: 'acked' | 'dropped', code?: string) => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

const TAKEN_OVER_CLOSE = WIRE_ERRORS.SESSION_TAKEN_OVER.close.code;
const SERVICE_RESTART_CLOSE = CLOSES.SERVICE_RESTART.code;
/**
 * Close codes after which no connection of this session can go on (the error table's
 * `then: "stop"`), with the code they stand for when the close reason names none.
 */
const STOP_CLOSES: ReadonlyMap<number, string> = new Map(
  Object.entries(WIRE_ERRORS as Record<string, { close: { code: number; then: string } | null }>)
    .flatMap(([code, spec]) => (spec.close?.then === 'stop' ? [[spec.close.code, code] as const] : []))
    .reverse(), // a close code shared by several errors stands for the first the table lists (4403: TOKEN_INVALID)
);
/** What an item whose bytes vanished from the store (evicted, deleted) is reported as: it can never be sent. */
const BLOB_VANISHED: ErrorCode = 'NOT_FOUND';

export class MediaTransport {
  state: ConnectionState = 'idle';
  /** reconnects attempted over the life of this transport */
  reconnectAttempts = 0;
  /** failures since the last successful session_init_ack (drives the backoff) */
  consecutiveFailures = 0;
  lastError: string | null = null;
  completeAck: CompleteAck | null = null;
  /** the error code that ended the session (state 'rejected'), e.g. TOKEN_INVALID or FORBIDDEN */
  refusedCode: string | null = null;

  private ws: WebSocket | null = null;
  private ready = false;
  private stopped = false;
  private pumping = false;
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private wakeTimer: ReturnType<typeof setTimeout> | null = null;
  private eventRetryTimer: ReturnType<typeof setTimeout> | null = null;
  private pendingComplete: { total_chunks: number; total_frames: number } | null = null;
  private completeSentOn: WebSocket | null = null;
  private readonly now: () => number;
  private readonly WS: typeof WebSocket;

  constructor(private o: TransportOptions) {
    this.now = o.now ?? (() => Date.now());
    this.WS = o.WebSocketImpl ?? WebSocket;
  }

  start(): void {
    if (this.ws || this.stopped) return;
    this.connect();
  }

  /** New items are in the outbox, or the network came back: try now. */
  kick(): void {
    if (this.stopped) return;
    if (!this.ws && this.state === 'reconnecting') {
      // New work cuts the backoff short; it is still a reconnect attempt (the page counts them).
      this.clearTimers();
      this.reconnectAttempts++;
      this.connect();
      return;
    }
    void this.pump();
    this.sendEvents();
  }

  /** Stop for good (page leaving, or session done). Items stay in the store. */
  close(): void {
    this.stopped = true;
    this.clearTimers();
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    if (this.eventRetryTimer) clearTimeout(this.eventRetryTimer);
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    this.o.outbox.disconnect();
    this.o.events?.disconnect();
    if (ws && ws.readyState <= 1) ws.close(CLOSES.NORMAL.code, 'done');
    this.setState('closed');
  }

  /**
   * Wait (bounded) until everything is acked, then send session_complete and wait for its ack.
   * If the deadline passes first the totals are remembered: session_complete is sent as soon as
   * the outbox drains on a later connection. Returns the ack, or null on timeout.
   */
  async finish(totals: { total_chunks: number; total_frames: number }, timeoutMs: number): Promise<CompleteAck | null> {
    this.pendingComplete = totals;
    this.completeAck = null;
    this.completeSentOn = null;
    const deadline = this.now() + timeoutMs;
    await this.waitUntil(() => this.o.outbox.size === 0 || this.stopped, deadline);
    this.maybeSendComplete(true);
    await this.waitUntil(() => this.completeAck !== null || this.stopped, deadline + Math.min(5000, timeoutMs));
    return this.completeAck;
  }

  private async waitUntil(pred: () => boolean, deadline: number) {
    while (!pred() && this.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  private setState(s: ConnectionState) {
    this.state = s;
    this.o.onChange?.();
  }

  private later(ms: number, fn: () => void) {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private clearTimers() {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private connect() {
    this.setState(this.reconnectAttempts > 0 || this.consecutiveFailures > 0 ? 'reconnecting' : 'connecting');
    let ws: WebSocket;
    try {
      ws = new this.WS(this.o.url);
    } catch (e) {
      this.lastError = `cannot open WebSocket: ${(e as Error).message}`;
      this.scheduleReconnect();
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.ready = false;
    const initTimer = setTimeout(() => {
      if (this.ws === ws && !this.ready) {
        this.lastError = 'session_init not acknowledged in time';
        ws.close(CLOSES.CLIENT_TIMEOUT.code, 'init timeout');
        this.onClosed(ws, CLOSES.CLIENT_TIMEOUT.code);
      }
    }, this.o.initTimeoutMs ?? 10_000);
    ws.onopen = () => {
      if (this.ws !== ws) return;
      ws.send(
        encodeClientMessage({
          type: 'session_init',
          session_id: this.o.sessionId,
          interview_session_id: this.o.interviewSessionId,
          timestamp: new Date().toISOString(),
          user_id: this.o.userId ?? null,
          token: this.o.token ?? null,
        }),
      );
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws || typeof ev.data !== 'string') return;
      let msg: ServerMessage;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (msg.type === 'session_init_ack') clearTimeout(initTimer);
      this.onMessage(ws, msg);
    };
    ws.onclose = (ev) => {
      clearTimeout(initTimer);
      this.onClosed(ws, ev.code, ev.reason);
    };
    ws.onerror = () => {
      /* a close event follows */
    };
  }

  private onClosed(ws: WebSocket, code: number, reason = '') {
    if (this.ws !== ws) return;
    this.ws = null;
    this.ready = false;
    this.o.outbox.disconnect();
    this.o.events?.disconnect();
    if (this.stopped) return;
    if (code === TAKEN_OVER_CLOSE) {
      this.lastError = 'another page took over this recording session';
      this.setState('taken-over');
      return;
    }
    // A rolling restart (1012) is no failure of this client's: come back at the first backoff
    // step (125-250 ms, jittered so a replica's clients do not all land at once), to another replica.
    if (code === SERVICE_RESTART_CLOSE) this.consecutiveFailures = 0;
    const stopsAs = STOP_CLOSES.get(code);
    if (stopsAs) {
      const refused = isErrorCode(reason) ? reason : stopsAs;
      this.lastError = `${refused}: the gateway closed the connection (${code})`;
      this.refuse(refused);
      return;
    }
    this.scheduleReconnect();
  }

  /** The gateway refused the session for good: stop, never reconnect. */
  private refuse(code: string) {
    this.stopped = true;
    this.refusedCode ??= code;
    this.clearTimers();
    this.setState('rejected');
  }

  private scheduleReconnect() {
    if (this.stopped || this.state === 'rejected') return;
    const delay = backoffDelayMs(this.consecutiveFailures++, this.o.backoff ?? DEFAULT_BACKOFF);
    this.setState('reconnecting');
    this.later(delay, () => {
      this.reconnectAttempts++;
      this.connect();
    });
  }

  private onMessage(ws: WebSocket, msg: ServerMessage) {
    const { outbox } = this.o;
    switch (msg.type) {
      case 'session_init_ack':
        if (msg.stored) this.settleStored(msg.stored);
        this.ready = true;
        this.consecutiveFailures = 0;
        this.setState('open');
        this.maybeSendComplete(false);
        void this.pump();
        this.sendEvents();
        return;
      case 'capture_event_ack': {
        const index = Number(msg.event_index);
        if (this.o.events?.ack(index)) this.o.onEventSettled?.(index, 'acked');
        this.o.onChange?.();
        return;
      }
      case 'audio_ack':
      case 'frame_ack': {
        const kind: BlobKind = msg.type === 'audio_ack' ? 'audio' : 'frame';
        const index = Number(msg.type === 'audio_ack' ? msg.chunk_index : msg.frame_index);
        if (outbox.ack(kind, index)) {
          void this.o.store.deleteItem(this.o.sessionId, kind, index).catch(() => {});
          this.o.onSettled?.(kind, index, 'acked');
        }
        this.o.onChange?.();
        this.maybeSendComplete(false);
        void this.pump();
        return;
      }
      case 'session_complete_ack':
        this.completeAck = {
          total_chunks: Number(msg.total_chunks),
          total_frames: Number(msg.total_frames),
          missing_chunks: (msg.missing_chunks as number[]) ?? [],
          missing_frames: (msg.missing_frames as number[]) ?? [],
        };
        this.o.onChange?.();
        return;
      case 'error': {
        const code = String(msg.code ?? 'UNKNOWN');
        this.lastError = `${code}: ${String(msg.message ?? '')}`;
        if (msg.event_index !== undefined) {
          this.onEventError(Number(msg.event_index), code, String(msg.message ?? ''));
          return;
        }
        const item = erroredItem(msg);
        if (item) {
          const { kind, index } = item;
          const outcome = outbox.reject(kind, index, code, this.now());
          if (outcome === 'failed') {
            void this.o.store.deleteItem(this.o.sessionId, kind, index).catch(() => {});
            this.o.onSettled?.(kind, index, 'failed', code);
          }
          this.armWake();
        } else if (endsSession(code)) {
          this.refuse(code);
          ws.close(CLOSES.NORMAL.code, 'rejected');
          return;
        }
        this.o.onChange?.();
        return;
      }
    }
  }

  /**
   * A resumed session's ack lists what the server already holds: those items' acks were lost in
   * flight, so they count as acked and leave the outbox and the store instead of going out
   * again. Only listed ranges are trusted: an item in none (also past a truncated list) is sent,
   * and a re-send is always safe.
   */
  private settleStored(stored: StoredIndices) {
    const ranges = { audio: stored.chunks, frame: stored.frames };
    const gone = this.o.outbox.settleStored((kind, index) => inRanges(ranges[kind], index));
    for (const e of gone) {
      void this.o.store.deleteItem(this.o.sessionId, e.kind, e.index).catch(() => {});
      this.o.onSettled?.(e.kind, e.index, 'acked');
    }
    if (gone.length) this.o.log?.('items already stored on the server were not sent again', { count: gone.length });
  }

  /**
   * Sends every due capture_event on the ready connection. They skip the blobs' window: a few
   * hundred bytes each, they neither wait for the audio and frames nor make them wait.
   */
  sendEvents(): void {
    const ws = this.ws;
    const q = this.o.events;
    if (!ws || !this.ready || this.stopped || !q) return;
    for (const e of q.takeDue(this.now())) ws.send(encodeClientMessage({ type: 'capture_event', session_id: this.o.sessionId, ...e, detail: e.detail ?? null }));
  }

  /** The gateway refused an event: a transient code retries it later, any other drops it (logged, never retried). */
  private onEventError(index: number, code: string, message: string) {
    const q = this.o.events;
    const outcome = q?.reject(index, code, this.now());
    if (outcome === 'dropped') {
      this.o.log?.('capture_event refused; dropped', { event_index: index, code, message });
      this.o.onEventSettled?.(index, 'dropped', code);
    } else if (outcome === 'retry') this.armEventRetry();
    this.o.onChange?.();
  }

  private armEventRetry() {
    const at = this.o.events?.nextRetryAt();
    if (at === undefined || this.eventRetryTimer || this.stopped) return;
    this.eventRetryTimer = setTimeout(() => {
      this.eventRetryTimer = null;
      this.sendEvents();
      this.armEventRetry();
    }, Math.max(10, at - this.now()));
  }

  private maybeSendComplete(force: boolean) {
    const ws = this.ws;
    if (!ws || !this.ready || !this.pendingComplete || this.completeAck || this.completeSentOn === ws) return;
    if (!force && this.o.outbox.size > 0) return;
    this.completeSentOn = ws;
    ws.send(encodeClientMessage({ type: 'session_complete', session_id: this.o.sessionId, timestamp: new Date().toISOString(), ...this.pendingComplete }));
  }

  /** Sends while the window allows. Metadata and blob go out back to back, never interleaved. */
  private async pump() {
    if (this.pumping) return;
    this.pumping = true;
    try {
      const { outbox, store, sessionId } = this.o;
      while (this.ws && this.ready && !this.stopped) {
        const ws = this.ws;
        const e = outbox.next(this.now());
        if (!e) break;
        outbox.markSent(e.kind, e.index, this.now());
        const blob = await store.getBlob(sessionId, e.kind, e.index);
        if (this.ws !== ws || !this.ready) break; // connection changed while loading: disconnect() requeued it
        if (!blob) {
          outbox.reject(e.kind, e.index, BLOB_VANISHED, this.now()); // a code that drops the item: it cannot ever be sent
          this.o.onSettled?.(e.kind, e.index, 'failed', BLOB_VANISHED);
          continue;
        }
        // The metadata fields were stored with the blob when it was captured (see OutboxEntry.meta).
        ws.send(encodeClientMessage(mediaMetadata(e.kind, sessionId, e.meta as unknown as AudioMetadataFields | FrameMetadataFields)));
        ws.send(new Blob([encodeHeader(sessionId, e.kind, e.index) as BlobPart, blob]));
        this.o.onChange?.();
      }
    } finally {
      this.pumping = false;
      this.armWake();
    }
  }

  /** Timer for the next backoff expiry or overdue ack. An overdue ack means the socket is suspect: reconnect. */
  private armWake() {
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
    const at = this.o.outbox.nextWakeAt();
    if (at === undefined || this.stopped) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      const { outbox } = this.o;
      const c = outbox.counts().inflight;
      if (c > 0 && outbox.expire(this.now()) > 0 && this.ws) {
        this.lastError = 'acks overdue; reconnecting';
        const ws = this.ws;
        ws.close(CLOSES.CLIENT_TIMEOUT.code, 'ack timeout');
        this.onClosed(ws, CLOSES.CLIENT_TIMEOUT.code);
        return;
      }
      void this.pump();
    }, Math.max(10, at - this.now()));
  }
}
