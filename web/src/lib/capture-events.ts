/**
 * @module capture-events
 * The page's capture_event messages between a health transition (capture-health.ts) and the
 * gateway's `capture_event_ack`. Pure: the transport sends, the uploader persists.
 *
 *   transition ─► captureEvent(index, t) ─► queue.add ─► takeDue() → sent on this connection
 *                                             ▲            │
 *                 disconnect / transient error┘            ├─ capture_event_ack → gone
 *                                                          └─ other error → dropped (logged)
 *
 * Events travel beside the blobs, never in the blobs' send window: they are a few hundred bytes
 * each and must not hold up, or be held up by, the audio and frames. The unacked ones are kept
 * with the session record (outbox-store.ts `SessionRecord.captureEvents`), so a reload or a
 * reconnect sends them again; the gateway acks a repeat of the same event_index and content.
 */
import { CAPTURE_EVENT_KINDS, type CaptureEvent, type CaptureEventDetail, isTransient, MAX_CAPTURE_EVENT_DETAIL_BYTES } from './wire.ts';
import type { HealthTransition } from './capture-health.ts';

/** A capture_event without `type` and `session_id` (which the transport adds): what is stored. */
export type StoredCaptureEvent = Omit<CaptureEvent, 'type' | 'session_id' | 'detail'> & { detail?: CaptureEventDetail };

/** The gateway's rules for a detail key (proto/wire/messages.ts). */
const DETAIL_KEY_RE = /^[a-z][a-z0-9_]{0,39}$/;
const MAX_DETAIL_STRING = 120;

/**
 * A detail the gateway accepts: snake_case keys, finite numbers, short strings, and at most
 * MAX_CAPTURE_EVENT_DETAIL_BYTES of JSON (keys past the budget are left out, in order).
 * Undefined when nothing is left.
 */
export function fitDetail(detail: Record<string, unknown> | undefined): CaptureEventDetail | undefined {
  if (!detail) return undefined;
  const out: CaptureEventDetail = {};
  const bytes = (o: unknown) => new TextEncoder().encode(JSON.stringify(o)).length;
  for (const [k, v] of Object.entries(detail)) {
    if (!DETAIL_KEY_RE.test(k)) continue;
    let x: string | number | boolean;
    if (typeof v === 'number' && Number.isFinite(v)) x = v;
    else if (typeof v === 'boolean') x = v;
    else if (typeof v === 'string') x = v.slice(0, MAX_DETAIL_STRING);
    else continue;
    out[k] = x;
    if (bytes(out) > MAX_CAPTURE_EVENT_DETAIL_BYTES) delete out[k];
  }
  return Object.keys(out).length ? out : undefined;
}

/** The event with index `index` for a health transition. `at` is ISO 8601 like audio_metadata's timestamps. */
export function captureEvent(index: number, t: HealthTransition): StoredCaptureEvent {
  const detail = fitDetail(t.detail);
  return { event_index: index, kind: t.kind, phase: t.phase, at: new Date(t.at).toISOString(), ...(detail ? { detail } : {}) };
}

/** Whether a stored value is a well-formed event (records written by another version may hold anything). */
export function isStoredCaptureEvent(v: unknown): v is StoredCaptureEvent {
  const e = v as StoredCaptureEvent;
  return (
    !!e &&
    Number.isSafeInteger(e.event_index) &&
    e.event_index >= 0 &&
    (CAPTURE_EVENT_KINDS as readonly string[]).includes(e.kind) &&
    (e.phase === 'began' || e.phase === 'ended') &&
    typeof e.at === 'string'
  );
}

export interface CaptureEventQueueOptions {
  /** transient refusals (UPSTREAM_UNAVAILABLE, STORAGE_FULL, …) of one event before it is dropped */
  maxTransientErrors: number;
  /** an event refused transiently is sent again after this long (ms) */
  retryDelayMs: number;
  /** unacked events kept at most; past it the oldest are dropped (a flapping tab must not fill the store) */
  maxQueued: number;
}

export const DEFAULT_EVENT_QUEUE: CaptureEventQueueOptions = { maxTransientErrors: 5, retryDelayMs: 2000, maxQueued: 500 };

interface Queued {
  event: StoredCaptureEvent;
  /** sent on the current connection (awaiting its ack) */
  sent: boolean;
  notBefore: number;
  errors: number;
}

export type EventOutcome = 'acked' | 'dropped';

export class CaptureEventQueue {
  readonly opts: CaptureEventQueueOptions;
  private readonly items = new Map<number, Queued>();

  constructor(events: readonly StoredCaptureEvent[] = [], opts: Partial<CaptureEventQueueOptions> = {}) {
    this.opts = { ...DEFAULT_EVENT_QUEUE, ...opts };
    for (const e of events) this.add(e);
  }

  /** Queues an event; returns the events dropped to stay within maxQueued (oldest first). */
  add(event: StoredCaptureEvent): StoredCaptureEvent[] {
    if (!this.items.has(event.event_index)) this.items.set(event.event_index, { event, sent: false, notBefore: 0, errors: 0 });
    const dropped: StoredCaptureEvent[] = [];
    while (this.items.size > this.opts.maxQueued) {
      const oldest = Math.min(...this.items.keys());
      dropped.push(this.items.get(oldest)!.event);
      this.items.delete(oldest);
    }
    return dropped;
  }

  /** The events to send now (not yet sent on this connection, not waiting out a retry), oldest first; marked sent. */
  takeDue(now: number): StoredCaptureEvent[] {
    const due = [...this.items.values()].filter((q) => !q.sent && q.notBefore <= now).sort((a, b) => a.event.event_index - b.event.event_index);
    for (const q of due) q.sent = true;
    return due.map((q) => q.event);
  }

  /** capture_event_ack: the event is stored. False for an unknown (or repeated) ack. */
  ack(index: number): boolean {
    return this.items.delete(index);
  }

  /**
   * An error for this event. A transient code is retried after retryDelayMs, at most
   * maxTransientErrors times; any other refusal drops it (it would be refused again).
   */
  reject(index: number, code: string, now: number): 'retry' | 'dropped' | 'unknown' {
    const q = this.items.get(index);
    if (!q) return 'unknown';
    if (isTransient(code) && ++q.errors < this.opts.maxTransientErrors) {
      q.sent = false;
      q.notBefore = now + this.opts.retryDelayMs;
      return 'retry';
    }
    this.items.delete(index);
    return 'dropped';
  }

  /** The connection is gone: what it carried unacked goes again on the next one. */
  disconnect(): void {
    for (const q of this.items.values()) q.sent = false;
  }

  /** Earliest time a waiting retry is due (ms), or undefined. */
  nextRetryAt(): number | undefined {
    let t: number | undefined;
    for (const q of this.items.values()) if (!q.sent && q.notBefore > 0 && (t === undefined || q.notBefore < t)) t = q.notBefore;
    return t;
  }

  /** Every unacked event, by index: what the session record keeps. */
  list(): StoredCaptureEvent[] {
    return [...this.items.values()].map((q) => q.event).sort((a, b) => a.event_index - b.event_index);
  }

  get size(): number {
    return this.items.size;
  }
}
