/**
 * @module outbox
 * The state machine of everything captured but not yet acknowledged by the gateway.
 * Pure: it holds only metadata (never blobs — those live in the OutboxStore until acked) and
 * takes the current time as an argument, so it is unit-tested without sockets or timers.
 *
 *   add ──► pending ──next()/markSent──► inflight ──ack──► (gone, acked++)
 *              │  └── settleStored (the server already holds it) ──────► (gone, acked++)
 *              ▲                            │
 *              ├── disconnect / ack timeout ┤
 *              └── retryable error (after backoff)
 *                                           └── permanent error ──► (gone, failed++)
 *
 * The send window (items and bytes in flight) bounds memory and the socket's buffer on a slow
 * network: a blob is loaded from the store only when it is about to be sent.
 */
import { backoffDelayMs, type BackoffOptions } from './backoff.ts';
import { type BlobKind, dropsItem, isTransient } from './wire.ts';

export interface OutboxEntry {
  kind: BlobKind;
  /** chunk_index for audio, frame_index for frames */
  index: number;
  /** blob size in bytes */
  size: number;
  /** the fields of the metadata message sent before the blob (proto/wire's AudioMetadataFields / FrameMetadataFields) */
  meta: Record<string, unknown>;
}

type ItemState =
  | { s: 'pending'; notBefore: number }
  | { s: 'inflight'; sentAt: number };

interface Item {
  entry: OutboxEntry;
  state: ItemState;
  /** consecutive error replies (not disconnects): the retry backoff grows with them */
  errors: number;
  /** error replies with a code that is not transient: at maxErrors the item is dropped */
  strikes: number;
  seq: number;
}

export interface OutboxOptions {
  /** max items sent and not yet acked */
  windowItems: number;
  /** max bytes sent and not yet acked (one oversized item may still go alone) */
  windowBytes: number;
  /** an inflight item without ack after this long is sent again (ms) */
  ackTimeoutMs: number;
  /** after this many error replies for one item it is dropped as failed (transient codes never count) */
  maxErrors: number;
  retryBackoff: BackoffOptions;
}

export const DEFAULT_OUTBOX: OutboxOptions = {
  windowItems: 8,
  windowBytes: 2 * 1024 * 1024,
  ackTimeoutMs: 20_000,
  maxErrors: 30,
  retryBackoff: { baseMs: 500, maxMs: 15_000 },
};

export const itemKey = (kind: BlobKind, index: number) => `${kind}:${index}`;

export interface OutboxCounts {
  /** pending + inflight */
  waiting: { audio: number; frame: number };
  inflight: number;
  inflightBytes: number;
  acked: { audio: number; frame: number };
  failed: { audio: number; frame: number };
}

export type RejectOutcome = 'retry' | 'failed' | 'unknown';

export class Outbox {
  readonly opts: OutboxOptions;
  private items = new Map<string, Item>();
  private seq = 0;
  private ackedKeys = new Set<string>();
  readonly failedKeys = new Set<string>();

  constructor(opts: Partial<OutboxOptions> = {}) {
    this.opts = { ...DEFAULT_OUTBOX, ...opts };
  }

  /** Adds an item to send. Idempotent: an item already queued or already acked is ignored. */
  add(entry: OutboxEntry): boolean {
    const key = itemKey(entry.kind, entry.index);
    if (this.items.has(key) || this.ackedKeys.has(key)) return false;
    this.items.set(key, { entry, state: { s: 'pending', notBefore: 0 }, errors: 0, strikes: 0, seq: this.seq++ });
    return true;
  }

  /**
   * The next item to send now, or undefined when the window is full or nothing is due.
   * Oldest first, so audio and frames leave in capture order.
   */
  next(now: number): OutboxEntry | undefined {
    let inflight = 0;
    let bytes = 0;
    let best: Item | undefined;
    for (const it of this.items.values()) {
      if (it.state.s === 'inflight') {
        inflight++;
        bytes += it.entry.size;
      } else if (it.state.notBefore <= now && (!best || it.seq < best.seq)) best = it;
    }
    if (!best || inflight >= this.opts.windowItems) return undefined;
    if (inflight > 0 && bytes + best.entry.size > this.opts.windowBytes) return undefined;
    return best.entry;
  }

  markSent(kind: BlobKind, index: number, now: number): void {
    const it = this.items.get(itemKey(kind, index));
    if (it) it.state = { s: 'inflight', sentAt: now };
  }

  /** The item is durable on the server. Returns false for unknown or duplicate acks. */
  ack(kind: BlobKind, index: number): boolean {
    const key = itemKey(kind, index);
    if (!this.items.delete(key)) return false;
    this.ackedKeys.add(key);
    return true;
  }

  /**
   * The server already holds the items `isStored` names (a resumed session's session_init_ack
   * lists them: their acks were lost in flight). They leave as acked, whatever their state,
   * instead of being uploaded again. Returns the entries that left.
   */
  settleStored(isStored: (kind: BlobKind, index: number) => boolean): OutboxEntry[] {
    const gone: OutboxEntry[] = [];
    for (const [key, it] of this.items) {
      if (!isStored(it.entry.kind, it.entry.index)) continue;
      this.items.delete(key);
      this.ackedKeys.add(key);
      gone.push(it.entry);
    }
    return gone;
  }

  /**
   * The gateway answered with an error for this item. A code that drops the item (proto/wire's
   * table, docs/errors.md) fails it at once; a transient one (UPSTREAM_UNAVAILABLE, STORAGE_FULL:
   * the item is fine, the server is not ready) is retried with backoff until it is stored; any
   * other is retried with backoff, up to maxErrors.
   */
  reject(kind: BlobKind, index: number, code: string, now: number): RejectOutcome {
    const key = itemKey(kind, index);
    const it = this.items.get(key);
    if (!it) return 'unknown';
    it.errors++;
    if (!isTransient(code)) it.strikes++;
    if (dropsItem(code) || it.strikes >= this.opts.maxErrors) {
      this.items.delete(key);
      this.failedKeys.add(key);
      return 'failed';
    }
    it.state = { s: 'pending', notBefore: now + backoffDelayMs(it.errors - 1, this.opts.retryBackoff) };
    return 'retry';
  }

  /** The connection is gone: whatever was in flight must be sent again on the next connection. */
  disconnect(): void {
    for (const it of this.items.values()) if (it.state.s === 'inflight') it.state = { s: 'pending', notBefore: 0 };
  }

  /** Inflight items whose ack is overdue go back to pending; returns how many. */
  expire(now: number): number {
    let n = 0;
    for (const it of this.items.values()) {
      if (it.state.s === 'inflight' && now - it.state.sentAt >= this.opts.ackTimeoutMs) {
        it.state = { s: 'pending', notBefore: 0 };
        n++;
      }
    }
    return n;
  }

  /** Earliest time something may become sendable or expire (ms), or undefined if idle. */
  nextWakeAt(): number | undefined {
    let t: number | undefined;
    for (const it of this.items.values()) {
      const w = it.state.s === 'pending' ? it.state.notBefore : it.state.sentAt + this.opts.ackTimeoutMs;
      if (t === undefined || w < t) t = w;
    }
    return t;
  }

  has(kind: BlobKind, index: number): boolean {
    return this.items.has(itemKey(kind, index));
  }

  get size(): number {
    return this.items.size;
  }

  counts(): OutboxCounts {
    const c: OutboxCounts = {
      waiting: { audio: 0, frame: 0 },
      inflight: 0,
      inflightBytes: 0,
      acked: { audio: 0, frame: 0 },
      failed: { audio: 0, frame: 0 },
    };
    for (const it of this.items.values()) {
      c.waiting[it.entry.kind]++;
      if (it.state.s === 'inflight') {
        c.inflight++;
        c.inflightBytes += it.entry.size;
      }
    }
    for (const k of this.ackedKeys) c.acked[k.startsWith('audio') ? 'audio' : 'frame']++;
    for (const k of this.failedKeys) c.failed[k.startsWith('audio') ? 'audio' : 'frame']++;
    return c;
  }
}
