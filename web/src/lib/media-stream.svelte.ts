/**
 * @module media-stream
 * `useMediaStream` — the specification's capture hook in Svelte 5 terms. Usable from any page:
 *
 * @example
 * ```svelte
 * <script lang="ts">
 *   import { useMediaStream } from '$lib/media-stream.svelte';
 *   const media = useMediaStream({ interviewSessionId: 123, websocketUrl: 'ws://localhost:8000/ws/media-stream' });
 *   const { status, startRecording, stopRecording } = media;
 *   let video: HTMLVideoElement, canvas: HTMLCanvasElement;
 *   onDestroy(media.destroy);
 * </script>
 * <video bind:this={video} muted playsinline></video><canvas bind:this={canvas} hidden></canvas>
 * <button onclick={() => startRecording(video, canvas)}>Start</button>
 * <p>{status.chunksRecorded} chunks, {status.framesRecorded} frames</p>
 * ```
 *
 * Wiring: capture (AudioChunker + grabJpeg, timed by CaptureSchedule on a worker tick) → each
 * item is written to the OutboxStore (IndexedDB) together with the session counters → Outbox
 * (metadata only) → MediaTransport (one WebSocket). The session id of an unfinished recording is
 * remembered per interview in localStorage, so a reload resumes the same session: its stored,
 * unacked items are resent and new chunks continue the numbering.
 */
import { v4 as uuidv4 } from 'uuid';
import { AudioChunker, decodedDurationMs, type CapturedChunk } from './audio-chunker.ts';
import { CaptureSchedule, chunkTiming, frameOffsetMs } from './capture-schedule.ts';
import { grabJpeg } from './frame-grabber.ts';
import { classifyMediaError, DEVICE_PROBLEM_TEXT, pickAudioMimeType, type DeviceProblem } from './media-support.ts';
import { Outbox, type OutboxOptions } from './outbox.ts';
import { openOutboxStore, type OutboxStore, type SessionRecord } from './outbox-store.ts';
import { startTicker, wallNow } from './ticker.ts';
import { MediaTransport, type CompleteAck, type ConnectionState } from './transport.ts';

export interface MediaStreamOptions {
  /** audio chunk length (ms) */
  audioChunkDuration?: number;
  /** camera frame period (ms) */
  frameInterval?: number;
  websocketUrl: string;
  interviewSessionId: number;
  userId?: number;
  /** Opus/AAC bitrate (bits/s) */
  audioBitsPerSecond?: number;
  /** how long consecutive recorders overlap (ms) */
  overlapMs?: number;
  /** JPEG quality 0..1 */
  jpegQuality?: number;
  /** stopRecording() waits at most this long for acks (ms); the upload continues after that */
  ackWaitMs?: number;
  audioConstraints?: MediaTrackConstraints | boolean;
  videoConstraints?: MediaTrackConstraints | boolean;
  outbox?: Partial<OutboxOptions>;
  /** defaults to IndexedDB (memory if unavailable) */
  store?: OutboxStore;
}

export type Phase = 'loading' | 'idle' | 'starting' | 'recording' | 'stopping' | 'stopped' | 'error';

export interface MediaStreamStatus {
  sessionId: string;
  phase: Phase;
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
  mimeType: string | null;
  /** false when IndexedDB is unavailable: a reload would lose unacked items */
  durable: boolean;
  /** items recovered from an earlier page of this recording (reload/crash), if any */
  resumed: { chunks: number; frames: number } | null;
  /** the gateway's answer to session_complete */
  complete: CompleteAck | null;
  deviceProblem: DeviceProblem | null;
  error: string | null;
  lastTransportError: string | null;
}

/** Timing of every captured chunk/frame on this page; read by the e2e tests via window.__candidCapture. */
export interface CaptureLog {
  /** endWallMs = start + decoded duration; stopWallMs = when stop() was called */
  chunks: Array<{ index: number; startWallMs: number; endWallMs: number; stopWallMs: number; size: number; type: string }>;
  frames: Array<{ index: number; chunkIndex: number; wallMs: number; offsetMs: number; size: number }>;
}

const storageKey = (interviewSessionId: number) => `candid:capture-session:${interviewSessionId}`;

export function useMediaStream(options: MediaStreamOptions) {
  const c = new CaptureController(options);
  return {
    get sessionId() {
      return c.status.sessionId;
    },
    status: c.status,
    startRecording: (video: HTMLVideoElement, canvas: HTMLCanvasElement) => c.start(video, canvas),
    stopRecording: () => c.stop(),
    /** releases the socket, timers and devices this hook acquired; stored items stay for next time */
    destroy: () => c.destroy(),
    /** resolves once stored items of an earlier page have been loaded */
    ready: c.ready,
  };
}

class CaptureController {
  status: MediaStreamStatus;
  ready: Promise<void>;
  readonly log: CaptureLog = { chunks: [], frames: [] };

  private cfg: Required<Pick<MediaStreamOptions, 'audioChunkDuration' | 'frameInterval' | 'audioBitsPerSecond' | 'overlapMs' | 'jpegQuality' | 'ackWaitMs'>>;
  private store!: OutboxStore;
  private outbox: Outbox;
  private transport: MediaTransport | null = null;
  private record!: SessionRecord;
  private chunker: AudioChunker | null = null;
  private schedule: CaptureSchedule | null = null;
  private stopTicker: (() => void) | null = null;
  private chunkStartWall = new Map<number, number>();
  private lastFrameWall = 0;
  /** serialises writes so the stored counters only ever grow */
  private persistChain: Promise<void> = Promise.resolve();
  private frameChain: Promise<void> = Promise.resolve();
  private chunkStops: Promise<unknown>[] = [];
  private ownedStream: MediaStream | null = null;
  private elements: { video: HTMLVideoElement; canvas: HTMLCanvasElement } | null = null;
  private releaseLock: (() => void) | null = null;
  private destroyed = false;
  private onlineHandler = () => this.onOnline();

  constructor(private opts: MediaStreamOptions) {
    this.cfg = {
      audioChunkDuration: opts.audioChunkDuration ?? 10_000,
      frameInterval: opts.frameInterval ?? 2000,
      audioBitsPerSecond: opts.audioBitsPerSecond ?? 32_000,
      overlapMs: opts.overlapMs ?? 120,
      jpegQuality: opts.jpegQuality ?? 0.8,
      ackWaitMs: opts.ackWaitMs ?? 15_000,
    };
    this.outbox = new Outbox(opts.outbox);
    const browser = typeof window !== 'undefined';
    const remembered = browser ? localStorage.getItem(storageKey(opts.interviewSessionId)) : null;
    this.status = $state({
      sessionId: remembered ?? uuidv4(),
      phase: 'loading',
      connection: 'idle',
      online: browser ? navigator.onLine : true,
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
      mimeType: null,
      durable: true,
      resumed: null,
      complete: null,
      deviceProblem: null,
      error: null,
      lastTransportError: null,
    });
    this.ready = browser ? this.init() : Promise.resolve();
  }

  private async init() {
    const { store, durable } = this.opts.store ? { store: this.opts.store, durable: true } : await openOutboxStore();
    this.store = store;
    this.status.durable = durable;
    window.addEventListener('online', this.onlineHandler);
    window.addEventListener('offline', this.onlineHandler);
    (window as unknown as { __candidCapture?: CaptureLog }).__candidCapture = this.log;
    const sessions = await store.listSessions().catch(() => [] as SessionRecord[]);
    let sid = this.status.sessionId;
    if (!(await this.lockSession(sid))) {
      // Another tab records this interview: record a separate session rather than steal its socket.
      sid = this.status.sessionId = uuidv4();
      this.status.error = 'This interview is open in another tab; this tab records a separate session.';
      await this.lockSession(sid);
    }
    const prev = sessions.find((s) => s.sessionId === sid);
    this.record = prev ?? {
      sessionId: sid,
      interviewSessionId: this.opts.interviewSessionId,
      userId: this.opts.userId,
      nextChunkIndex: 0,
      nextFrameIndex: 0,
      failedChunks: 0,
      failedFrames: 0,
      state: 'recording',
      updatedAt: Date.now(),
    };
    if (prev) {
      const items = await store.listItems(sid);
      for (const it of items) this.outbox.add({ kind: it.kind, index: it.index, size: it.size, meta: it.meta });
      this.status.resumed = { chunks: items.filter((i) => i.kind === 'audio').length, frames: items.filter((i) => i.kind === 'frame').length };
      if (items.length > 0 || prev.state === 'stopped') this.ensureTransport();
      if (prev.state === 'stopped') void this.finishInBackground();
    }
    for (const other of sessions) if (other.sessionId !== sid) void drainOrphan(other, store, this.opts.websocketUrl);
    this.refresh();
    if (!this.destroyed) this.status.phase = prev?.state === 'stopped' ? 'stopped' : 'idle';
  }

  private ensureTransport() {
    if (this.transport) return this.transport;
    this.transport = new MediaTransport({
      url: this.opts.websocketUrl,
      sessionId: this.status.sessionId,
      interviewSessionId: this.opts.interviewSessionId,
      userId: this.opts.userId,
      outbox: this.outbox,
      store: this.store,
      onChange: () => this.refresh(),
      onSettled: (kind, _index, outcome) => {
        if (outcome !== 'failed') return;
        if (kind === 'audio') this.record.failedChunks++;
        else this.record.failedFrames++;
        this.persistChain = this.persistChain.then(() => this.store.putSession({ ...this.record })).catch(() => {});
      },
    });
    this.transport.start();
    return this.transport;
  }

  private refresh() {
    const c = this.outbox.counts();
    const s = this.status;
    const r = this.record;
    if (!r) return;
    s.chunksRecorded = r.nextChunkIndex;
    s.framesRecorded = r.nextFrameIndex;
    s.chunksWaiting = c.waiting.audio;
    s.framesWaiting = c.waiting.frame;
    s.chunksFailed = r.failedChunks;
    s.framesFailed = r.failedFrames;
    s.chunksAcked = Math.max(0, r.nextChunkIndex - c.waiting.audio - r.failedChunks);
    s.framesAcked = Math.max(0, r.nextFrameIndex - c.waiting.frame - r.failedFrames);
    s.inflightBytes = c.inflightBytes;
    if (this.transport) {
      s.connection = this.transport.state;
      s.reconnectAttempts = this.transport.reconnectAttempts;
      s.lastTransportError = this.transport.lastError;
      if (this.transport.completeAck) s.complete = this.transport.completeAck;
    }
  }

  private onOnline() {
    this.status.online = navigator.onLine;
    if (navigator.onLine) this.transport?.kick();
  }

  async start(video: HTMLVideoElement, canvas: HTMLCanvasElement): Promise<void> {
    await this.ready;
    if (this.destroyed || this.status.phase === 'recording' || this.status.phase === 'starting' || this.status.phase === 'stopping') return;
    this.status.phase = 'starting';
    this.status.error = null;
    this.status.deviceProblem = null;
    this.status.complete = null;
    try {
      if (typeof MediaRecorder === 'undefined') throw Object.assign(new Error('MediaRecorder missing'), { name: 'UnsupportedError' });
      const mimeType = pickAudioMimeType((t) => MediaRecorder.isTypeSupported(t));
      if (!mimeType) throw Object.assign(new Error('no supported audio type'), { name: 'UnsupportedError' });
      this.status.mimeType = mimeType;
      let stream = video.srcObject instanceof MediaStream ? video.srcObject : null;
      const live = (kind: 'audio' | 'video') => stream?.getTracks().some((t) => t.kind === kind && t.readyState === 'live');
      if (!stream || !live('audio') || !live('video')) {
        if (!navigator.mediaDevices?.getUserMedia) throw Object.assign(new Error('insecure'), { name: 'InsecureContextError' });
        stream = await navigator.mediaDevices.getUserMedia({
          audio: this.opts.audioConstraints ?? true,
          video: this.opts.videoConstraints ?? { width: { ideal: 640 }, height: { ideal: 480 } },
        });
        this.ownedStream = stream;
        video.srcObject = stream;
        video.muted = true;
        await video.play().catch(() => {});
      }
      localStorage.setItem(storageKey(this.opts.interviewSessionId), this.status.sessionId);
      this.record.state = 'recording';
      this.record.updatedAt = Date.now();
      await this.store.putSession({ ...this.record });
      this.ensureTransport();

      const chunker = new AudioChunker(new MediaStream(stream.getAudioTracks()), { mimeType, audioBitsPerSecond: this.cfg.audioBitsPerSecond });
      await chunker.warmUp();
      const t0 = wallNow();
      const schedule = new CaptureSchedule(
        { chunkMs: this.cfg.audioChunkDuration, overlapMs: this.cfg.overlapMs, frameMs: this.cfg.frameInterval },
        t0,
        this.record.nextChunkIndex,
      );
      this.chunker = chunker;
      this.schedule = schedule;
      this.elements = { video, canvas };
      this.chunkStartWall.set(schedule.currentChunk, chunker.startChunk(schedule.currentChunk));
      this.status.phase = 'recording';
      const tick = () => {
        for (const a of schedule.tick(wallNow())) {
          if (a.type === 'start-chunk') {
            this.chunkStartWall.set(a.index, chunker.startChunk(a.index));
          } else if (a.type === 'stop-chunk') {
            this.chunkStops.push(chunker.stopChunk(a.index).then((c) => this.persistChunk(c)));
          } else this.captureFrame(video, canvas, a.chunkIndex);
        }
      };
      tick();
      this.stopTicker = startTicker(20, tick);
    } catch (e) {
      const problem = classifyMediaError(e);
      this.status.deviceProblem = problem;
      this.status.error = problem === 'unknown' ? `Could not start recording: ${(e as Error).message}` : DEVICE_PROBLEM_TEXT[problem];
      this.status.phase = 'error';
    }
  }

  private async persistChunk(c: CapturedChunk | null): Promise<void> {
    if (!c || c.blob.size === 0) return;
    const decoded = await decodedDurationMs(c.blob);
    const endWallMs = decoded !== undefined ? Math.min(c.endWallMs, c.startWallMs + decoded) : c.endWallMs;
    const meta = { chunk_index: c.index, ...chunkTiming(c.startWallMs, endWallMs), size: c.blob.size };
    this.log.chunks.push({ index: c.index, startWallMs: c.startWallMs, endWallMs, stopWallMs: c.endWallMs, size: c.blob.size, type: c.blob.type });
    return this.persistItem('audio', c.index, c.blob, meta);
  }

  private captureFrame(video: HTMLVideoElement, canvas: HTMLCanvasElement, chunkIndex: number) {
    this.frameChain = this.frameChain.then(async () => {
      // Grabbed a few ms after it was scheduled: if its chunk has stopped meanwhile, the frame
      // belongs to the (already overlapping) next one.
      const recording = this.chunker?.recordingIndices() ?? [];
      if (recording.length > 0 && !recording.includes(chunkIndex)) chunkIndex = recording[0]!;
      const t = wallNow();
      const blob = await grabJpeg(video, canvas, this.cfg.jpegQuality).catch(() => null);
      if (!blob) return;
      this.lastFrameWall = t;
      const index = this.record.nextFrameIndex; // frames are serialised: the previous one is already counted
      const offsetMs = frameOffsetMs(t, this.chunkStartWall.get(chunkIndex) ?? t);
      this.log.frames.push({ index, chunkIndex, wallMs: t, offsetMs, size: blob.size });
      const meta = { frame_index: index, chunk_index: chunkIndex, timestamp: new Date(t).toISOString(), offset_ms: offsetMs, size: blob.size };
      await this.persistItem('frame', index, blob, meta);
    });
  }

  private persistItem(kind: 'audio' | 'frame', index: number, blob: Blob, meta: Record<string, unknown>): Promise<void> {
    this.persistChain = this.persistChain.then(async () => {
      const next = { ...this.record, updatedAt: Date.now() };
      if (kind === 'audio') next.nextChunkIndex = Math.max(next.nextChunkIndex, index + 1);
      else next.nextFrameIndex = Math.max(next.nextFrameIndex, index + 1);
      try {
        await this.store.putItem({ sessionId: this.status.sessionId, kind, index, size: blob.size, meta, blob }, next);
      } catch (e) {
        // Storage full or broken: keep going in memory rather than losing the item.
        this.status.durable = false;
        this.status.error = `Local storage failed (${(e as Error).name}); unsent items will not survive a reload.`;
        const { MemoryOutboxStore } = await import('./outbox-store.ts');
        if (!(this.store instanceof MemoryOutboxStore)) {
          const mem = new MemoryOutboxStore();
          // items already in IndexedDB stay readable there; new ones go to memory
          const idb = this.store;
          this.store = {
            putItem: (i, s) => mem.putItem(i, s),
            getBlob: async (s, k, i) => (await mem.getBlob(s, k, i)) ?? idb.getBlob(s, k, i).catch(() => undefined),
            deleteItem: async (s, k, i) => { await mem.deleteItem(s, k, i); await idb.deleteItem(s, k, i).catch(() => {}); },
            listItems: (s) => mem.listItems(s),
            putSession: (s) => idb.putSession(s).catch(() => mem.putSession(s)),
            listSessions: () => mem.listSessions(),
            deleteSession: (s) => idb.deleteSession(s).catch(() => mem.deleteSession(s)),
          };
          if (this.transport) (this.transport as unknown as { o: { store: OutboxStore } }).o.store = this.store;
        }
        await this.store.putItem({ sessionId: this.status.sessionId, kind, index, size: blob.size, meta, blob }, next);
      }
      this.record = next;
      this.outbox.add({ kind, index, size: blob.size, meta });
      this.refresh();
      this.transport?.kick();
    }).catch((e) => {
      this.status.error = `Could not keep a captured ${kind === 'audio' ? 'chunk' : 'frame'}: ${(e as Error).message}`;
    });
    return this.persistChain;
  }

  async stop(): Promise<void> {
    if (this.status.phase !== 'recording' || !this.chunker || !this.schedule) return;
    this.status.phase = 'stopping';
    this.stopTicker?.();
    this.stopTicker = null;
    const { chunker, schedule } = this;
    const current = schedule.currentChunk;
    // Inside the overlap window the next recorder covers nothing the current one does not.
    for (const i of chunker.runningIndices()) if (i !== current) chunker.discardChunk(i);
    // The closing frame is grabbed before the last recorder stops, so it lies inside that chunk.
    const { video, canvas } = this.elements!;
    if (wallNow() - this.lastFrameWall >= this.cfg.frameInterval / 2) this.captureFrame(video, canvas, current);
    await this.frameChain;
    const last = chunker.stopChunk(current).then((c) => this.persistChunk(c));
    await Promise.all([...this.chunkStops, last, this.frameChain]);
    await this.persistChain;
    this.chunkStops = [];
    this.chunker = null;
    this.schedule = null;
    this.record = { ...this.record, state: 'stopped', updatedAt: Date.now() };
    await this.store.putSession({ ...this.record }).catch(() => {});
    if (this.ownedStream) {
      for (const t of this.ownedStream.getTracks()) t.stop();
      this.ownedStream = null;
    }
    await this.finishInBackground();
    this.status.phase = 'stopped';
  }

  private async finishInBackground() {
    const t = this.ensureTransport();
    const ack = await t.finish({ total_chunks: this.record.nextChunkIndex, total_frames: this.record.nextFrameIndex }, this.cfg.ackWaitMs);
    this.refresh();
    if (ack) this.status.complete = ack;
    const cleanup = async () => {
      if (this.outbox.size > 0 || !t.completeAck) return false;
      await this.store.deleteSession(this.status.sessionId).catch(() => {});
      localStorage.removeItem(storageKey(this.opts.interviewSessionId));
      return true;
    };
    if (!(await cleanup())) {
      // Not everything made it in time: keep uploading; session_complete goes out once drained.
      const timer = setInterval(async () => {
        this.refresh();
        if (this.destroyed || (await cleanup())) clearInterval(timer);
      }, 1000);
    }
  }

  /** Holds a Web Lock named after the session for this page's lifetime, so no other tab resumes or drains it. */
  private lockSession(sid: string): Promise<boolean> {
    if (!navigator.locks) return Promise.resolve(true);
    // Wait a little: right after a reload the previous document may still hold the lock.
    return new Promise((resolve) => {
      navigator.locks
        .request(lockName(sid), { signal: AbortSignal.timeout(3000) }, () => {
          resolve(true);
          return new Promise<void>((release) => (this.releaseLock = release));
        })
        .catch(() => resolve(false));
    });
  }

  destroy() {
    this.destroyed = true;
    this.releaseLock?.();
    this.stopTicker?.();
    if (this.chunker) for (const i of this.chunker.runningIndices()) this.chunker.discardChunk(i);
    this.transport?.close();
    if (this.ownedStream) for (const t of this.ownedStream.getTracks()) t.stop();
    if (typeof window !== 'undefined') {
      window.removeEventListener('online', this.onlineHandler);
      window.removeEventListener('offline', this.onlineHandler);
    }
  }
}

/** Uploads what an earlier, abandoned page of another recording left in the store, then completes it if it had stopped. */
const lockName = (sid: string) => `candid-capture-${sid}`;

async function drainOrphan(rec: SessionRecord, store: OutboxStore, url: string) {
  if (navigator.locks) {
    await navigator.locks.request(lockName(rec.sessionId), { ifAvailable: true }, async (lock) => {
      if (lock) await drainOrphanLocked(rec, store, url);
    });
  } else await drainOrphanLocked(rec, store, url);
}

async function drainOrphanLocked(rec: SessionRecord, store: OutboxStore, url: string) {
  const items = await store.listItems(rec.sessionId).catch(() => []);
  if (items.length === 0 && rec.state !== 'stopped') {
    // Nothing to upload; a recording page that died keeps its counters for a resume. Forget after a day.
    if (Date.now() - rec.updatedAt > 24 * 3600_000) await store.deleteSession(rec.sessionId).catch(() => {});
    return;
  }
  const outbox = new Outbox();
  for (const it of items) outbox.add({ kind: it.kind, index: it.index, size: it.size, meta: it.meta });
  const t = new MediaTransport({ url, sessionId: rec.sessionId, interviewSessionId: rec.interviewSessionId, userId: rec.userId, outbox, store });
  t.start();
  if (rec.state === 'stopped') {
    const ack = await t.finish({ total_chunks: rec.nextChunkIndex, total_frames: rec.nextFrameIndex }, 120_000);
    if (ack && outbox.size === 0) {
      await store.deleteSession(rec.sessionId).catch(() => {});
      localStorage.removeItem(storageKey(rec.interviewSessionId));
      t.close();
    }
  } else {
    while (outbox.size > 0 && t.state !== 'rejected' && t.state !== 'taken-over') await new Promise((r) => setTimeout(r, 1000));
    t.close();
  }
}
