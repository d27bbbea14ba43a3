/**
 * @module uploader
 * The upload half of a recording: everything between a captured item and the gateway's ack.
 *
 *   keep(item) ─► OutboxStore (IndexedDB, with the session counters, one transaction)
 *              ─► Outbox (metadata only) ─► MediaTransport (one WebSocket) ─► ack: deleted
 *
 * It owns the session's record (next indices, failures, recording/stopped), the one transport of
 * this page's session (made by `openTransport`, the only place a MediaTransport is created),
 * `finish()` (session_complete, then forgetting the session), a Web Lock per session so two tabs
 * never upload the same one, and the upload of orphans: sessions an earlier, abandoned page left
 * in the store.
 *
 * The session id of an unfinished recording is remembered per interview in localStorage, so a
 * reload resumes the same session: its stored, unacked items are resent and new chunks continue
 * the numbering.
 *
 * Every connection's session_init carries the session's upload token. The token is kept in the
 * session record (the outbox store), so a reload and an orphan upload reuse it. A refusal of the
 * token (TOKEN_INVALID / FORBIDDEN, close 4403) stops the upload for good with a plain message;
 * an orphan whose token is refused, missing or expired is dropped from the store (the page says
 * how many items were lost) instead of being retried on every page load.
 *
 * The page's capture_events (capture-health transitions) are numbered here (`nextEventIndex`,
 * kept in the session record like the blob counters, so a reload continues the sequence) and
 * kept in the record until acked; the transport sends them beside the blobs.
 *
 * It reports into an `UploadStatus` object it is given (the hook passes its `$state`), so it is
 * plain TypeScript and knows nothing of Svelte.
 */
import { v4 as uuidv4 } from 'uuid';
import { captureEvent, CaptureEventQueue, isStoredCaptureEvent } from './capture-events.ts';
import type { HealthTransition } from './capture-health.ts';
import { Outbox, type OutboxCounts, type OutboxOptions } from './outbox.ts';
import { FallbackOutboxStore, openOutboxStore, type OutboxStore, type SessionRecord } from './outbox-store.ts';
import { MediaTransport, type CompleteAck, type ConnectionState, type TransportOptions } from './transport.ts';
import type { BlobKind } from './wire.ts';

export interface UploaderOptions {
  websocketUrl: string;
  interviewSessionId: number;
  userId?: number;
  /** the upload token for this interview (from the web app's server); a resumed session's stored one otherwise */
  token?: string;
  /** when `token` expires (ISO 8601) */
  tokenExpiresAt?: string;
  /** the gateway refused this session for good (TOKEN_INVALID, FORBIDDEN, …): nothing more uploads */
  onRefused?: (code: string) => void;
  /** finish() waits at most this long for acks (ms); the upload continues after that */
  ackWaitMs?: number;
  outbox?: Partial<OutboxOptions>;
  /** defaults to IndexedDB (memory if unavailable) */
  store?: OutboxStore;
}

/** What the Uploader reports; it writes these fields and no others. */
export interface UploadStatus {
  sessionId: string;
  connection: ConnectionState;
  /** navigator.onLine */
  online: boolean;
  chunksRecorded: number;
  chunksAcked: number;
  chunksWaiting: number;
  chunksFailed: number;
  framesRecorded: number;
  framesAcked: number;
  framesWaiting: number;
  framesFailed: number;
  /** bytes sent and not yet acked */
  inflightBytes: number;
  reconnectAttempts: number;
  /** false when IndexedDB is unavailable: a reload would lose unacked items */
  durable: boolean;
  /** items recovered from an earlier page of this recording (reload/crash), if any */
  resumed: { chunks: number; frames: number } | null;
  /** the gateway's answer to session_complete */
  complete: CompleteAck | null;
  /** the latest problem worth telling the user (shared with the capture side) */
  error: string | null;
  /** the code the gateway refused this session with for good (TOKEN_INVALID, FORBIDDEN, …), if it did */
  refusedCode: string | null;
  /** items of earlier recordings removed from this device unsent, because their upload token was refused or expired */
  droppedOrphans: { chunks: number; frames: number } | null;
  lastTransportError: string | null;
}

export const DEFAULT_ACK_WAIT_MS = 15_000;
/** an orphan's upload waits this long for session_complete_ack (ms) */
const ORPHAN_ACK_WAIT_MS = 120_000;
/** an orphan with nothing to upload that stopped changing this long ago is forgotten (ms) */
const ORPHAN_FORGET_AFTER_MS = 24 * 3600_000;
/** poll period while waiting for a late drain (ms) */
const DRAIN_POLL_MS = 1000;
/** right after a reload the previous document may still hold the session's lock (ms) */
const LOCK_WAIT_MS = 3000;
/** an orphan's token is taken as expired this long after its expires_at (the gateway allows 30 s of skew) (ms) */
const TOKEN_EXPIRY_GRACE_MS = 60_000;
/** refusals after which an orphan's items can never be uploaded with the token it has */
const TOKEN_REFUSALS: readonly string[] = ['TOKEN_INVALID', 'FORBIDDEN'];

const inBrowser = () => typeof window !== 'undefined';
export const storageKey = (interviewSessionId: number) => `candid:capture-session:${interviewSessionId}`;
export const lockName = (sessionId: string) => `candid-capture-${sessionId}`;

/** The status before anything is loaded: the remembered session of this interview, or a new one. */
export function initialUploadStatus(interviewSessionId: number): UploadStatus {
  const remembered = inBrowser() ? localStorage.getItem(storageKey(interviewSessionId)) : null;
  return {
    sessionId: remembered ?? uuidv4(),
    connection: 'idle',
    online: inBrowser() ? navigator.onLine : true,
    chunksRecorded: 0,
    chunksAcked: 0,
    chunksWaiting: 0,
    chunksFailed: 0,
    framesRecorded: 0,
    framesAcked: 0,
    framesWaiting: 0,
    framesFailed: 0,
    inflightBytes: 0,
    reconnectAttempts: 0,
    durable: true,
    resumed: null,
    complete: null,
    error: null,
    refusedCode: null,
    droppedOrphans: null,
    lastTransportError: null,
  };
}

export function newSessionRecord(
  sessionId: string,
  interviewSessionId: number,
  userId: number | undefined,
  nowMs: number,
  token: Pick<SessionRecord, 'token' | 'tokenExpiresAt'> = {},
): SessionRecord {
  return {
    sessionId,
    interviewSessionId,
    userId,
    ...(token.token ? { token: token.token, tokenExpiresAt: token.tokenExpiresAt } : {}),
    nextChunkIndex: 0,
    nextFrameIndex: 0,
    failedChunks: 0,
    failedFrames: 0,
    state: 'recording',
    updatedAt: nowMs,
  };
}

/** What the page tells the candidate when the gateway refuses the session for good. */
export function refusalText(code: string): string {
  switch (code) {
    case 'TOKEN_INVALID':
      return 'The permission to upload this recording is no longer valid (it expired or was refused), so nothing more is uploaded. Begin a new interview from the start page.';
    case 'FORBIDDEN':
      return 'The permission to upload does not cover this recording session, so nothing more is uploaded. Begin a new interview from the start page.';
    default:
      return `The server refused this recording session (${code}), so nothing more is uploaded.`;
  }
}

/** True when the token cannot be used any more: absent, or expired (with a grace for clock skew). */
export function tokenUnusable(rec: Pick<SessionRecord, 'token' | 'tokenExpiresAt'>, nowMs: number): boolean {
  if (!rec.token) return true;
  const exp = rec.tokenExpiresAt ? Date.parse(rec.tokenExpiresAt) : NaN;
  return Number.isFinite(exp) && nowMs > exp + TOKEN_EXPIRY_GRACE_MS;
}

/** The record once item `kind`/`index` is stored: the counters only ever grow. */
export function advanceRecord(r: SessionRecord, kind: BlobKind, index: number, nowMs: number): SessionRecord {
  const next = { ...r, updatedAt: nowMs };
  if (kind === 'audio') next.nextChunkIndex = Math.max(next.nextChunkIndex, index + 1);
  else next.nextFrameIndex = Math.max(next.nextFrameIndex, index + 1);
  return next;
}

export type UploadCounts = Pick<
  UploadStatus,
  'chunksRecorded' | 'framesRecorded' | 'chunksWaiting' | 'framesWaiting' | 'chunksFailed' | 'framesFailed' | 'chunksAcked' | 'framesAcked' | 'inflightBytes'
>;

/** Recorded / acked / waiting / failed: recorded comes from the record, waiting from the outbox, acked is the rest. */
export function uploadCounts(r: SessionRecord, c: OutboxCounts): UploadCounts {
  return {
    chunksRecorded: r.nextChunkIndex,
    framesRecorded: r.nextFrameIndex,
    chunksWaiting: c.waiting.audio,
    framesWaiting: c.waiting.frame,
    chunksFailed: r.failedChunks,
    framesFailed: r.failedFrames,
    chunksAcked: Math.max(0, r.nextChunkIndex - c.waiting.audio - r.failedChunks),
    framesAcked: Math.max(0, r.nextFrameIndex - c.waiting.frame - r.failedFrames),
    inflightBytes: c.inflightBytes,
  };
}

/**
 * What to do with an orphan holding `itemCount` stored items: upload them and complete the
 * session if it had stopped; with nothing stored, a stopped one still needs session_complete,
 * while a recording one keeps its counters for a resume and is forgotten after a day. An orphan
 * that would need the gateway but has no usable token (none stored, or expired) is dropped:
 * the gateway would refuse it on every page load.
 */
export function orphanPlan(
  rec: Pick<SessionRecord, 'state' | 'updatedAt' | 'token' | 'tokenExpiresAt'>,
  itemCount: number,
  nowMs: number,
): 'finish' | 'upload' | 'keep' | 'forget' | 'drop' {
  const plan = rec.state === 'stopped' ? 'finish' : itemCount > 0 ? 'upload' : nowMs - rec.updatedAt > ORPHAN_FORGET_AFTER_MS ? 'forget' : 'keep';
  return (plan === 'finish' || plan === 'upload') && tokenUnusable(rec, nowMs) ? 'drop' : plan;
}

/** The one place a MediaTransport is made and started: for this page's session and for orphans alike. */
function openTransport(
  url: string,
  session: Pick<SessionRecord, 'sessionId' | 'interviewSessionId' | 'userId' | 'token'>,
  outbox: Outbox,
  store: OutboxStore,
  hooks: Pick<TransportOptions, 'onChange' | 'onSettled' | 'events' | 'onEventSettled'> = {},
): MediaTransport {
  const t = new MediaTransport({
    url,
    sessionId: session.sessionId,
    interviewSessionId: session.interviewSessionId,
    userId: session.userId,
    token: session.token,
    outbox,
    store,
    ...hooks,
  });
  t.start();
  return t;
}

export class Uploader {
  private store!: FallbackOutboxStore;
  private readonly outbox: Outbox;
  private readonly events = new CaptureEventQueue();
  private transport: MediaTransport | null = null;
  private record!: SessionRecord;
  /** serialises writes so the stored counters only ever grow */
  private persistChain: Promise<void> = Promise.resolve();
  private releaseLock: (() => void) | null = null;
  private destroyed = false;
  /** the finished session's record is deleted: nothing may write it back */
  private forgotten = false;
  private readonly onlineHandler = () => this.onOnline();

  constructor(
    private readonly opts: UploaderOptions,
    /** written as things change; starts as initialUploadStatus() */
    private readonly status: UploadStatus,
  ) {
    this.outbox = new Outbox(opts.outbox);
  }

  /**
   * Opens the store, takes this session's lock (or starts a separate session if another tab
   * holds it), resumes what an earlier page of it left, and starts uploading orphans.
   * Resolves with whether the session had already stopped (only its upload is left).
   */
  async init(): Promise<{ stopped: boolean }> {
    const { store, durable } = this.opts.store ? { store: this.opts.store, durable: true } : await openOutboxStore();
    this.store = new FallbackOutboxStore(store, (e) => {
      this.status.durable = false;
      this.status.error = `Local storage failed (${e.name}); unsent items will not survive a reload.`;
    });
    this.status.durable = durable;
    window.addEventListener('online', this.onlineHandler);
    window.addEventListener('offline', this.onlineHandler);
    const sessions = await store.listSessions().catch(() => [] as SessionRecord[]);
    let sid = this.status.sessionId;
    if (!(await this.lockSession(sid))) {
      // Another tab records this interview: record a separate session rather than steal its socket.
      sid = this.status.sessionId = uuidv4();
      this.status.error = 'This interview is open in another tab; this tab records a separate session.';
      await this.lockSession(sid);
    }
    const prev = sessions.find((s) => s.sessionId === sid);
    const token = this.opts.token ? { token: this.opts.token, tokenExpiresAt: this.opts.tokenExpiresAt } : {};
    // The caller's token is the newest; else a resumed session keeps the one stored with it.
    this.record = prev ? { ...prev, ...token } : newSessionRecord(sid, this.opts.interviewSessionId, this.opts.userId, Date.now(), token);
    if (prev) {
      const items = await store.listItems(sid);
      for (const it of items) this.outbox.add({ kind: it.kind, index: it.index, size: it.size, meta: it.meta });
      this.status.resumed = { chunks: items.filter((i) => i.kind === 'audio').length, frames: items.filter((i) => i.kind === 'frame').length };
      for (const e of storedEvents(prev)) this.events.add(e);
      if (items.length > 0 || this.events.size > 0 || prev.state === 'stopped') this.ensureTransport();
      if (prev.state === 'stopped') void this.finish();
    }
    const onDropped = (chunks: number, frames: number) => {
      const d = this.status.droppedOrphans ?? { chunks: 0, frames: 0 };
      this.status.droppedOrphans = { chunks: d.chunks + chunks, frames: d.frames + frames };
    };
    for (const other of sessions) if (other.sessionId !== sid) void drainOrphan(other, store, this.opts.websocketUrl, onDropped);
    this.refresh();
    return { stopped: prev?.state === 'stopped' };
  }

  /** Whether this session has an upload token to send (after init). */
  hasToken(): boolean {
    return !!this.record?.token;
  }

  nextChunkIndex(): number {
    return this.record.nextChunkIndex;
  }

  nextFrameIndex(): number {
    return this.record.nextFrameIndex;
  }

  /** A recording (re)starts: remember the session for a reload, mark it recording, connect. */
  async begin(): Promise<void> {
    if (!this.record.token) throw new Error('this interview has no upload permission; begin a new interview from the start page');
    localStorage.setItem(storageKey(this.opts.interviewSessionId), this.status.sessionId);
    this.record.state = 'recording';
    this.record.updatedAt = Date.now();
    await this.store.putSession({ ...this.record });
    this.ensureTransport();
  }

  /** Stores a captured item with the counters that account for it, then queues it for sending. */
  keep(kind: BlobKind, index: number, blob: Blob, meta: Record<string, unknown>): Promise<void> {
    this.persistChain = this.persistChain
      .then(async () => {
        const next = advanceRecord(this.record, kind, index, Date.now());
        await this.store.putItem({ sessionId: this.status.sessionId, kind, index, size: blob.size, meta, blob }, next);
        this.record = next;
        this.outbox.add({ kind, index, size: blob.size, meta });
        this.refresh();
        this.transport?.kick();
      })
      .catch((e) => {
        this.status.error = `Could not keep a captured ${kind === 'audio' ? 'chunk' : 'frame'}: ${(e as Error).message}`;
      });
    return this.persistChain;
  }

  /**
   * A capture-health transition: numbered with the session's next event_index, kept in the
   * session record (so a reload resends it if unacked), then sent. Never waits for the network.
   */
  captureEvent(t: HealthTransition): Promise<void> {
    this.persistChain = this.persistChain
      .then(async () => {
        const index = this.record.nextEventIndex ?? 0;
        for (const gone of this.events.add(captureEvent(index, t))) console.warn('capture_event dropped unsent: too many waiting', { event_index: gone.event_index });
        this.record = { ...this.record, nextEventIndex: index + 1, captureEvents: this.events.list(), updatedAt: Date.now() };
        await this.store.putSession({ ...this.record });
        this.transport?.sendEvents();
      })
      .catch((e) => console.warn('could not keep a capture_event', (e as Error).message));
    return this.persistChain;
  }

  /** Capture has ended and every item is kept: the totals are final. */
  async end(): Promise<void> {
    await this.persistChain;
    this.record = { ...this.record, state: 'stopped', updatedAt: Date.now() };
    await this.store.putSession({ ...this.record }).catch(() => {});
  }

  /**
   * Sends session_complete once everything is acked (waiting at most ackWaitMs), then forgets the
   * session. If the deadline passes first the upload goes on, and the session is forgotten once drained.
   */
  async finish(): Promise<void> {
    const t = this.ensureTransport();
    const totals = { total_chunks: this.record.nextChunkIndex, total_frames: this.record.nextFrameIndex };
    const ackWaitMs = this.opts.ackWaitMs ?? DEFAULT_ACK_WAIT_MS;
    const ack = await t.finish(totals, ackWaitMs);
    this.refresh();
    if (ack) this.status.complete = ack;
    // Capture events are waited for a while, not forever: a gateway that never acks them must
    // not keep the finished session on this device.
    const eventsDeadline = Date.now() + ackWaitMs;
    const cleanup = async () => {
      if (this.outbox.size > 0 || !t.completeAck) return false;
      if (this.events.size > 0 && Date.now() < eventsDeadline) return false;
      this.forgotten = true;
      await this.persistChain;
      await this.store.deleteSession(this.status.sessionId).catch(() => {});
      localStorage.removeItem(storageKey(this.opts.interviewSessionId));
      return true;
    };
    if (!(await cleanup())) {
      // Not everything made it in time: keep uploading; session_complete goes out once drained.
      const timer = setInterval(async () => {
        this.refresh();
        if (this.destroyed || (await cleanup())) clearInterval(timer);
      }, DRAIN_POLL_MS);
    }
  }

  /** Releases the socket, the lock and the listeners; stored items stay for next time. */
  destroy(): void {
    this.destroyed = true;
    this.releaseLock?.();
    this.transport?.close();
    if (inBrowser()) {
      window.removeEventListener('online', this.onlineHandler);
      window.removeEventListener('offline', this.onlineHandler);
    }
  }

  private ensureTransport(): MediaTransport {
    if (this.transport) return this.transport;
    const session = { sessionId: this.status.sessionId, interviewSessionId: this.opts.interviewSessionId, userId: this.opts.userId, token: this.record.token };
    this.transport = openTransport(this.opts.websocketUrl, session, this.outbox, this.store, {
      onChange: () => this.refresh(),
      onSettled: (kind, _index, outcome) => {
        if (outcome !== 'failed') return;
        if (kind === 'audio') this.record.failedChunks++;
        else this.record.failedFrames++;
        this.persistChain = this.persistChain.then(() => this.store.putSession({ ...this.record })).catch(() => {});
      },
      events: this.events,
      onEventSettled: (index, outcome, code) => {
        if (outcome === 'dropped') console.warn('capture_event refused by the gateway; dropped', { event_index: index, code });
        this.persistChain = this.persistChain
          .then(() => {
            this.record = { ...this.record, captureEvents: this.events.list() };
            return this.forgotten ? undefined : this.store.putSession({ ...this.record });
          })
          .catch(() => {});
      },
    });
    return this.transport;
  }

  private refresh() {
    if (!this.record) return;
    Object.assign(this.status, uploadCounts(this.record, this.outbox.counts()));
    const t = this.transport;
    if (t) {
      this.status.connection = t.state;
      this.status.reconnectAttempts = t.reconnectAttempts;
      this.status.lastTransportError = t.lastError;
      if (t.completeAck) this.status.complete = t.completeAck;
      if (t.state === 'rejected' && t.refusedCode && !this.status.refusedCode) {
        this.status.refusedCode = t.refusedCode;
        this.status.error = refusalText(t.refusedCode);
        this.opts.onRefused?.(t.refusedCode);
      }
    }
  }

  private onOnline() {
    this.status.online = navigator.onLine;
    if (navigator.onLine) this.transport?.kick();
  }

  /** Holds a Web Lock named after the session for this page's lifetime, so no other tab resumes or drains it. */
  private lockSession(sid: string): Promise<boolean> {
    if (!navigator.locks) return Promise.resolve(true);
    return new Promise((resolve) => {
      navigator.locks
        .request(lockName(sid), { signal: AbortSignal.timeout(LOCK_WAIT_MS) }, () => {
          resolve(true);
          return new Promise<void>((release) => (this.releaseLock = release));
        })
        .catch(() => resolve(false));
    });
  }
}

type OnDropped = (chunks: number, frames: number) => void;

/** The well-formed unacked capture_events of a record. */
function storedEvents(rec: SessionRecord) {
  return Array.isArray(rec.captureEvents) ? rec.captureEvents.filter(isStoredCaptureEvent) : [];
}

/** Uploads what an earlier, abandoned page of another recording left in the store, then completes it if it had stopped. */
async function drainOrphan(rec: SessionRecord, store: OutboxStore, url: string, onDropped: OnDropped) {
  if (navigator.locks) {
    await navigator.locks.request(lockName(rec.sessionId), { ifAvailable: true }, async (lock) => {
      if (lock) await drainOrphanLocked(rec, store, url, onDropped);
    });
  } else await drainOrphanLocked(rec, store, url, onDropped);
}

/** Removes an orphan that can never be uploaded (its token is refused, missing or expired), and says how much was lost. */
async function dropOrphan(rec: SessionRecord, store: OutboxStore, onDropped: OnDropped) {
  const items = await store.listItems(rec.sessionId).catch(() => []);
  for (const it of items) await store.deleteItem(rec.sessionId, it.kind, it.index).catch(() => {});
  await store.deleteSession(rec.sessionId).catch(() => {});
  if (localStorage.getItem(storageKey(rec.interviewSessionId)) === rec.sessionId) localStorage.removeItem(storageKey(rec.interviewSessionId));
  if (items.length > 0) onDropped(items.filter((i) => i.kind === 'audio').length, items.filter((i) => i.kind === 'frame').length);
}

async function drainOrphanLocked(rec: SessionRecord, store: OutboxStore, url: string, onDropped: OnDropped) {
  const items = await store.listItems(rec.sessionId).catch(() => []);
  const plan = orphanPlan(rec, items.length, Date.now());
  if (plan === 'keep') return;
  if (plan === 'forget') {
    await store.deleteSession(rec.sessionId).catch(() => {});
    return;
  }
  if (plan === 'drop') {
    await dropOrphan(rec, store, onDropped);
    return;
  }
  const outbox = new Outbox();
  for (const it of items) outbox.add({ kind: it.kind, index: it.index, size: it.size, meta: it.meta });
  // An orphan's unacked capture_events go with its items; the record keeps what is still unacked.
  const events = new CaptureEventQueue(storedEvents(rec));
  let saving = Promise.resolve();
  let forgotten = false; // a late ack must not write back a record already deleted
  const onEventSettled = () => {
    saving = saving.then(() => (forgotten ? undefined : store.putSession({ ...rec, captureEvents: events.list() }))).catch(() => {});
  };
  const t = openTransport(url, rec, outbox, store, { events, onEventSettled });
  if (plan === 'finish') {
    const ack = await t.finish({ total_chunks: rec.nextChunkIndex, total_frames: rec.nextFrameIndex }, ORPHAN_ACK_WAIT_MS);
    if (ack && outbox.size === 0) {
      forgotten = true;
      await saving;
      await store.deleteSession(rec.sessionId).catch(() => {});
      localStorage.removeItem(storageKey(rec.interviewSessionId));
      t.close();
    }
  } else {
    while (outbox.size > 0 && t.state !== 'rejected' && t.state !== 'taken-over') await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
  }
  const refused = t.state === 'rejected' && TOKEN_REFUSALS.includes(t.refusedCode ?? '');
  if (plan === 'upload' || refused) t.close();
  if (refused) {
    forgotten = true;
    await dropOrphan(rec, store, onDropped);
  }
}
