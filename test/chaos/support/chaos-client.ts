/**
 * @module chaos-client
 * A re-sending media client for the chaos suite, shaped like the web client's upload path
 * (web/src/lib/outbox.ts, transport.ts) but over TestClient: items are produced at recording
 * pace into an outbox; at most `windowItems` are in flight; an item is deleted from the outbox
 * only on its ack; a close, a failed connect or an overdue ack sends the in-flight items back to
 * pending and reconnects with jittered exponential backoff (web/src/lib/backoff.ts); an item
 * error that is not final (`dropsItem` in proto/wire/errors.ts) is retried after a backoff. When
 * every item is acked the client sends session_complete and keeps its answer.
 *
 * The client remembers everything it sent (bytes and SHA-256) and every ack it received, so the
 * suite can compare what was acked with what PostgreSQL and the media store hold.
 *
 * For the fleet test (test/chaos/fleet.test.ts) it can also connect through several gateways
 * (`wsUrl` a function: each connect asks it), move its session to another gateway while the old
 * socket is still open (`moveTo`: the takeover), then send one more item on the old socket (the
 * stale probe) to check that a connection whose session was taken over gets no ack, and wait at
 * a gate before completing (`gate`) so the suite can read the status of connected sessions.
 */
import { createHash } from "node:crypto";
import { backoffDelayMs, type BackoffOptions } from "../../../web/src/lib/backoff";
import type { BlobKind, ServerMessage } from "../../../proto/wire";
import { WIRE_ERRORS } from "../../../proto/wire/errors";
import { fakeJpeg, fakeWebm, TestClient } from "../../support/ws-client";

export interface SentItem {
  kind: BlobKind;
  index: number;
  bytes: Uint8Array<ArrayBuffer>;
  sha256: string;
}

export interface ChaosClientOptions {
  /** The gateway to connect to; a function is asked on every connect (several gateways). */
  wsUrl: string | (() => string);
  sessionId: string;
  token: string;
  /** audio chunks to record (each followed by `framesPerChunk` frames) */
  chunks: number;
  framesPerChunk: number;
  /** time between two recorded chunks (ms): recording pace */
  chunkEveryMs: number;
  chunkBytes?: number;
  frameBytes?: number;
  windowItems?: number;
  /** an in-flight item without ack after this long makes the socket suspect: reconnect (ms) */
  ackTimeoutMs?: number;
  /** connect + session_init must succeed within this long (ms) */
  initTimeoutMs?: number;
  reconnect?: BackoffOptions;
  retry?: BackoffOptions;
  /** Awaited once every item is acked, before session_complete (default: none). */
  gate?: () => Promise<void>;
}

type ItemState = { s: "pending"; notBefore: number } | { s: "inflight"; sentAt: number };

interface OutboxItem {
  item: SentItem;
  state: ItemState;
  errors: number;
}

const key = (kind: BlobKind, index: number) => `${kind}:${index}`;

/** Codes after which an item is never accepted as sent: a chaos case must never see one. */
const FINAL_CODES = new Set(Object.entries(WIRE_ERRORS).flatMap(([code, e]) => (e.dropsItem ? [code] : [])));
const ENDS_SESSION = new Set(Object.entries(WIRE_ERRORS).flatMap(([code, e]) => (e.endsSession ? [code] : [])));

export class ChaosClient {
  /** every item produced so far, by key */
  readonly sent = new Map<string, SentItem>();
  /** keys acked at least once */
  readonly acked = new Set<string>();
  /** items refused with a final code (each is a loss the suite reports) */
  readonly dropped: Array<{ key: string; code: string }> = [];
  readonly errorCodes = new Map<string, number>();
  connects = 0;
  closes = 0;
  /** Close codes the gateway (or the network) ended this client's current connections with. */
  readonly closeCodes = new Map<number, number>();
  /** ms from a close to the next successful session_init, per reconnect */
  readonly reconnectGapsMs: number[] = [];
  /** Stale probes sent on sockets whose session was taken over, and acks they got (must be 0). */
  staleProbes = 0;
  staleAcks = 0;
  /** Stale sockets that ended with SESSION_TAKEN_OVER (error or close 4409). */
  staleRefused = 0;
  /** Why a moveTo did not take the session over (for a failing fleet case). */
  readonly moveFailures: string[] = [];
  /** True once every item was acked (the client then waits at its gate). */
  allAcked = false;
  private closedAt: number | null = null;
  /** The gateway URL of the current connection. */
  currentUrl: string | null = null;
  complete: Extract<ServerMessage, { type: "session_complete_ack" }> | null = null;

  private readonly outbox = new Map<string, OutboxItem>();
  private conn: TestClient | null = null;
  private ready = false;
  private failures = 0;
  private stopped = false;
  private producing = true;
  private wake: (() => void) | null = null;
  private readonly o: Required<ChaosClientOptions>;

  constructor(opts: ChaosClientOptions) {
    this.o = {
      chunkBytes: 24 * 1024,
      frameBytes: 6 * 1024,
      windowItems: 8,
      ackTimeoutMs: 5_000,
      initTimeoutMs: 5_000,
      reconnect: { baseMs: 250, maxMs: 2_000 },
      retry: { baseMs: 250, maxMs: 2_000 },
      gate: async () => {},
      ...opts,
    };
  }

  get sessionId(): string {
    return this.o.sessionId;
  }

  /** Records and uploads everything, then completes the session; resolves when it is acked. */
  async run(deadlineMs: number): Promise<void> {
    const producer = this.produce();
    const deadline = Date.now() + deadlineMs;
    try {
      while (!this.stopped) {
        if (Date.now() > deadline) throw new Error(`${this.o.sessionId}: not done within ${deadlineMs} ms (${this.describe()})`);
        if (!this.conn || !this.ready) {
          await this.connect();
          continue;
        }
        this.expireOverdue();
        this.pump();
        if (!this.producing && this.outbox.size === 0) {
          if (!this.allAcked) {
            this.allAcked = true;
            await this.o.gate();
            continue;
          }
          if (await this.finish()) break;
          continue;
        }
        await this.sleepUntilWoken(100);
      }
    } finally {
      this.stopped = true;
      await producer;
      this.conn?.close();
    }
  }

  describe(): string {
    return `sent=${this.sent.size} acked=${this.acked.size} outbox=${this.outbox.size} connects=${this.connects} errors=${JSON.stringify(Object.fromEntries(this.errorCodes))}`;
  }

  private async produce(): Promise<void> {
    let frame = 0;
    for (let c = 0; c < this.o.chunks && !this.stopped; c++) {
      this.add({ kind: "audio", index: c, bytes: fakeWebm(this.o.chunkBytes, seedOf(this.o.sessionId, c)) });
      for (let f = 0; f < this.o.framesPerChunk; f++, frame++) {
        this.add({ kind: "frame", index: frame, bytes: fakeJpeg(this.o.frameBytes, seedOf(this.o.sessionId, 100_000 + frame)) });
      }
      await Bun.sleep(this.o.chunkEveryMs);
    }
    this.producing = false;
    this.poke();
  }

  private add(it: Omit<SentItem, "sha256">): void {
    const item = { ...it, sha256: createHash("sha256").update(it.bytes).digest("hex") };
    this.sent.set(key(it.kind, it.index), item);
    this.outbox.set(key(it.kind, it.index), { item, state: { s: "pending", notBefore: 0 }, errors: 0 });
    this.poke();
  }

  private async connect(): Promise<void> {
    if (this.failures > 0) await Bun.sleep(backoffDelayMs(this.failures - 1, this.o.reconnect));
    this.dropConnection();
    let c: TestClient | null = null;
    try {
      const url = typeof this.o.wsUrl === "function" ? this.o.wsUrl() : this.o.wsUrl;
      c = await withTimeout(TestClient.connect(url), this.o.initTimeoutMs, "connect");
      this.connects++;
      this.attach(c);
      c.send({ type: "session_init", session_id: this.o.sessionId, token: this.o.token });
      const ack = await c.next((m) => m.type === "session_init_ack" || (m.type === "error" && !("chunk_index" in m) && !("frame_index" in m)), this.o.initTimeoutMs);
      if (ack.type !== "session_init_ack") throw new Error(`session_init refused: ${JSON.stringify(ack)}`);
      if (c.closed) throw new Error("closed during init");
      this.conn = c;
      this.currentUrl = url;
      this.ready = true;
      this.failures = 0;
      if (this.closedAt !== null) this.reconnectGapsMs.push(Date.now() - this.closedAt);
      this.closedAt = null;
    } catch (e) {
      if (e instanceof Error && e.message.startsWith("session_init refused")) {
        const code = (e.message.match(/"code":"(\w+)"/) ?? [])[1] ?? "";
        // A refusal that ends the session is a test failure; anything else (e.g. upstream down) is retried.
        if (ENDS_SESSION.has(code)) throw e;
      }
      c?.close();
      this.failures++;
    }
  }

  private attach(c: TestClient): void {
    c.ws.addEventListener("message", (ev) => {
      if (this.conn !== c) return;
      this.onMessage(JSON.parse(String((ev as MessageEvent).data)) as ServerMessage);
    });
    c.ws.addEventListener("close", (ev) => {
      if (this.conn !== c) return;
      const code = (ev as CloseEvent).code;
      this.closeCodes.set(code, (this.closeCodes.get(code) ?? 0) + 1);
      this.closedAt ??= Date.now();
      this.closes++;
      this.dropConnection();
      this.failures++;
      this.poke();
    });
  }

  /**
   * Moves the session to `url` while the current socket stays open: a new connection's
   * session_init takes the session over. Once it is acked, the old socket is retired (its
   * in-flight items go back to pending, to be re-sent on the new one) and gets one more item, the
   * stale probe: the gateway must refuse it (SESSION_TAKEN_OVER, close 4409), never ack it.
   * Returns false when there was no ready connection or the new one was refused.
   */
  async moveTo(url: string): Promise<boolean> {
    // Between connections (a gateway just went away): wait for the client's own reconnect first.
    for (let i = 0; i < 200 && (!this.conn || !this.ready) && !this.stopped; i++) await Bun.sleep(50);
    const old = this.conn;
    if (!old || !this.ready || this.stopped) return this.moveFailed("no ready connection");
    let c: TestClient;
    try {
      c = await withTimeout(TestClient.connect(url), this.o.initTimeoutMs, "connect");
    } catch (e) {
      return this.moveFailed(`connect: ${e}`);
    }
    this.connects++;
    this.attach(c); // ignored until it is this.conn
    c.send({ type: "session_init", session_id: this.o.sessionId, token: this.o.token });
    const ack = await c
      .next((m) => m.type === "session_init_ack" || (m.type === "error" && !("chunk_index" in m) && !("frame_index" in m)), this.o.initTimeoutMs)
      .catch(() => null);
    // On the same gateway the old socket is closed 4409 at once, before this ack: adopt `c` then.
    if (ack?.type !== "session_init_ack" || c.closed || (this.conn !== old && this.conn !== null)) {
      c.close();
      return this.moveFailed(`init: ${JSON.stringify(ack)} closed=${JSON.stringify(c.closed)} same=${this.conn === old}`);
    }
    // The swap: from here on the old socket's session belongs to `c`.
    this.conn = c;
    this.currentUrl = url;
    this.ready = true;
    this.failures = 0;
    for (const it of this.outbox.values()) if (it.state.s === "inflight") it.state = { s: "pending", notBefore: 0 };
    this.probe(old);
    this.poke();
    return true;
  }

  private moveFailed(why: string): false {
    this.moveFailures.push(why);
    return false;
  }

  /**
   * Sends one item on a socket whose session was taken over; counts what it gets. A pending item
   * when there is one, else the last one sent (acked already: a stale re-send must be refused too).
   */
  private probe(old: TestClient): void {
    const item = [...this.outbox.values()][0]?.item ?? [...this.sent.values()].at(-1);
    if (!item || old.ws.readyState !== 1) {
      old.close();
      return;
    }
    const { kind, index } = item;
    let refused = false;
    const refuse = () => {
      if (!refused) this.staleRefused++;
      refused = true;
    };
    old.ws.addEventListener("message", (ev) => {
      const m = JSON.parse(String((ev as MessageEvent).data)) as ServerMessage;
      if ((m.type === "audio_ack" && kind === "audio" && m.chunk_index === index) || (m.type === "frame_ack" && kind === "frame" && m.frame_index === index)) {
        this.staleAcks++;
      }
      if (m.type === "error" && m.code === "SESSION_TAKEN_OVER") refuse();
    });
    old.ws.addEventListener("close", (ev) => {
      if ((ev as CloseEvent).code === WIRE_ERRORS.SESSION_TAKEN_OVER.close.code) refuse();
    });
    this.staleProbes++;
    this.sendItem(old, item);
    // Whatever it answers, the old socket goes after a while (the gateway closes it within a lease renewal).
    setTimeout(() => old.close(), 3_000);
  }

  /** Forgets the socket; in-flight items go back to pending. */
  private dropConnection(): void {
    const c = this.conn;
    this.conn = null;
    this.ready = false;
    for (const it of this.outbox.values()) if (it.state.s === "inflight") it.state = { s: "pending", notBefore: 0 };
    if (c && c.ws.readyState <= 1) c.close();
  }

  private onMessage(m: ServerMessage): void {
    if (m.type === "audio_ack" || m.type === "frame_ack") {
      const k = m.type === "audio_ack" ? key("audio", m.chunk_index) : key("frame", m.frame_index);
      this.acked.add(k);
      this.outbox.delete(k);
    } else if (m.type === "error") {
      this.errorCodes.set(m.code, (this.errorCodes.get(m.code) ?? 0) + 1);
      const k = "chunk_index" in m && typeof m.chunk_index === "number" && !("frame_index" in m) ? key("audio", m.chunk_index) : "frame_index" in m && typeof m.frame_index === "number" ? key("frame", m.frame_index) : null;
      const it = k ? this.outbox.get(k) : undefined;
      if (k && it) {
        if (FINAL_CODES.has(m.code)) {
          this.dropped.push({ key: k, code: m.code });
          this.outbox.delete(k);
        } else {
          it.errors++;
          it.state = { s: "pending", notBefore: Date.now() + backoffDelayMs(it.errors - 1, this.o.retry) };
        }
      }
    } else if (m.type === "session_complete_ack") {
      this.complete = m;
    }
    this.poke();
  }

  private expireOverdue(): void {
    const now = Date.now();
    for (const it of this.outbox.values()) {
      if (it.state.s === "inflight" && now - it.state.sentAt >= this.o.ackTimeoutMs) {
        // An overdue ack: the socket is suspect (a stall). Reconnect and send again.
        this.conn?.close();
        this.dropConnection();
        this.failures++;
        return;
      }
    }
  }

  /** Sends pending items while the window allows: metadata, then the blob, back to back. */
  private pump(): void {
    const c = this.conn;
    if (!c || !this.ready) return;
    const now = Date.now();
    let inflight = 0;
    for (const it of this.outbox.values()) if (it.state.s === "inflight") inflight++;
    for (const it of this.outbox.values()) {
      if (inflight >= this.o.windowItems) break;
      if (it.state.s !== "pending" || it.state.notBefore > now) continue;
      if (c.ws.readyState !== 1) return;
      this.sendItem(c, it.item);
      it.state = { s: "inflight", sentAt: now };
      inflight++;
    }
  }

  /** An item's metadata, then its blob, back to back. */
  private sendItem(c: TestClient, item: SentItem): void {
    const { kind, index, bytes } = item;
    const ts = new Date(Date.UTC(2025, 11, 16, 10, 0, 0) + index * 1000).toISOString();
    if (kind === "audio") {
      c.send({ type: "audio_metadata", session_id: this.o.sessionId, chunk_index: index, start_timestamp: ts, end_timestamp: ts, duration_ms: 1000, size: bytes.length });
    } else {
      const chunk = Math.floor(index / Math.max(1, this.o.framesPerChunk));
      c.send({ type: "frame_metadata", session_id: this.o.sessionId, frame_index: index, chunk_index: chunk, timestamp: ts, offset_ms: 0, size: bytes.length });
    }
    c.sendBlob(this.o.sessionId, kind, index, bytes);
  }

  /** session_complete with the totals; true once its ack arrived. */
  private async finish(): Promise<boolean> {
    const c = this.conn;
    if (!c) return false;
    const totals = { total_chunks: this.o.chunks, total_frames: this.o.chunks * this.o.framesPerChunk };
    c.send({ type: "session_complete", session_id: this.o.sessionId, ...totals });
    const t0 = Date.now();
    while (!this.complete && this.conn === c && Date.now() - t0 < this.o.ackTimeoutMs) await this.sleepUntilWoken(100);
    if (this.complete) return true;
    if (this.conn === c) {
      c.close();
      this.dropConnection();
      this.failures++;
    }
    return false;
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private sleepUntilWoken(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}

function seedOf(sessionId: string, n: number): number {
  return (Number.parseInt(sessionId.slice(0, 6), 16) + n * 7919) & 0xffff;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}
