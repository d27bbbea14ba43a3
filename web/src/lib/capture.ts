/**
 * @module capture
 * The capture half of a recording: the camera and microphone, one MediaRecorder per audio chunk
 * (AudioChunker), the CaptureSchedule that times them on a worker tick, and the JPEG frames.
 * It numbers and times each item and hands it to a `CaptureSink` (the Uploader), which keeps it;
 * it knows nothing of storage or the network.
 *
 *   openStream(video) ─► record(stream, …, sink) ─► tick every TICK_MS:
 *        start-chunk → recorder k+1 starts (overlapping k)
 *        stop-chunk  → recorder k stops → decoded duration → sink.keep('audio', k, …)
 *        frame       → grab JPEG (serialised) → sink.keep('frame', sink.nextFrameIndex(), …)
 *   stop() → closing frame, last chunk flushed, resolves once the sink kept everything
 */
import { AudioChunker, decodedDurationMs, type CapturedChunk } from './audio-chunker.ts';
import { CaptureSchedule, chunkTiming, frameOffsetMs } from './capture-schedule.ts';
import type { FrameStats } from './capture-health.ts';
import { grabJpeg, measureFrame } from './frame-grabber.ts';
import { pickAudioMimeType } from './media-support.ts';
import { startTicker, wallNow } from './ticker.ts';
import type { BlobKind } from './wire.ts';

export interface CaptureOptions {
  /** nominal audio chunk length (ms) */
  chunkMs: number;
  /** how long consecutive recorders both run (ms); must be < chunkMs / 2 */
  overlapMs: number;
  /** camera frame period (ms) */
  frameIntervalMs: number;
  /** Opus/AAC bitrate (bits/s) */
  audioBitsPerSecond: number;
  /** JPEG quality 0..1 */
  jpegQuality: number;
  /** getUserMedia constraints; default: any microphone */
  audioConstraints?: MediaTrackConstraints | boolean;
  /** getUserMedia constraints; default: 640×480 ideal */
  videoConstraints?: MediaTrackConstraints | boolean;
  /** told about every grabbed frame: its luma and grey signature (capture-health), and when it was grabbed (wall ms) */
  onFrameStats?: (stats: FrameStats, wallMs: number) => void;
}

export const DEFAULT_CAPTURE: Omit<CaptureOptions, 'audioConstraints' | 'videoConstraints' | 'onFrameStats'> = {
  chunkMs: 10_000,
  overlapMs: 120,
  frameIntervalMs: 2000,
  audioBitsPerSecond: 32_000,
  jpegQuality: 0.8,
};

/** Schedule tick period (ms): a boundary lands at most this late. */
const TICK_MS = 20;

/** Where captured items go. Items of one kind are handed over in index order. */
export interface CaptureSink {
  /** chunk_index of the first chunk of a recording (continues an earlier page's numbering) */
  nextChunkIndex(): number;
  /** frame_index the next frame gets; read after the previous frame was kept */
  nextFrameIndex(): number;
  /** Keeps an item; resolves once it is stored (never rejects). */
  keep(kind: BlobKind, index: number, blob: Blob, meta: Record<string, unknown>): Promise<void>;
}

/** Timing of every captured chunk/frame on this page; read by the e2e tests via window.__candidCapture. */
export interface CaptureLog {
  /** endWallMs = start + decoded duration; stopWallMs = when stop() was called */
  chunks: Array<{ index: number; startWallMs: number; endWallMs: number; stopWallMs: number; size: number; type: string }>;
  frames: Array<{ index: number; chunkIndex: number; wallMs: number; offsetMs: number; size: number }>;
}

const unsupported = (msg: string) => Object.assign(new Error(msg), { name: 'UnsupportedError' });

/** The recorder's MIME type here. Throws an `UnsupportedError` (see classifyMediaError) if there is none. */
export function pickRecorderType(): string {
  if (typeof MediaRecorder === 'undefined') throw unsupported('MediaRecorder missing');
  const mimeType = pickAudioMimeType((t) => MediaRecorder.isTypeSupported(t));
  if (!mimeType) throw unsupported('no supported audio type');
  return mimeType;
}

/**
 * Where a chunk really ends (wall-clock ms): start + decoded duration when the browser could
 * decode it, never after the recorder's stop time.
 */
export function chunkEndWallMs(c: Pick<CapturedChunk, 'startWallMs' | 'endWallMs'>, decodedMs: number | undefined): number {
  return decodedMs !== undefined ? Math.min(c.endWallMs, c.startWallMs + decodedMs) : c.endWallMs;
}

/** The audio_metadata fields of a chunk (without type and session_id, which the transport adds). */
export function audioMeta(index: number, startWallMs: number, endWallMs: number, size: number): Record<string, unknown> {
  return { chunk_index: index, ...chunkTiming(startWallMs, endWallMs), size };
}

/** The frame_metadata fields of a frame taken at `wallMs` (without type and session_id). */
export function frameMeta(index: number, chunkIndex: number, wallMs: number, offsetMs: number, size: number): Record<string, unknown> {
  return { frame_index: index, chunk_index: chunkIndex, timestamp: new Date(wallMs).toISOString(), offset_ms: offsetMs, size };
}

/**
 * The chunk a frame belongs to. It is grabbed a few ms after it was scheduled: if its chunk has
 * stopped meanwhile, the frame belongs to the (already overlapping) next one.
 */
export function frameChunkIndex(scheduled: number, recording: readonly number[]): number {
  return recording.length > 0 && !recording.includes(scheduled) ? recording[0]! : scheduled;
}

/** A closing frame is grabbed on stop unless the last one is less than half a period old. */
export function wantsClosingFrame(nowMs: number, lastFrameWallMs: number, frameIntervalMs: number): boolean {
  return nowMs - lastFrameWallMs >= frameIntervalMs / 2;
}

export class Capture {
  readonly log: CaptureLog = { chunks: [], frames: [] };

  private chunker: AudioChunker | null = null;
  private schedule: CaptureSchedule | null = null;
  private sink: CaptureSink | null = null;
  private elements: { video: HTMLVideoElement; canvas: HTMLCanvasElement } | null = null;
  private stopTicker: (() => void) | null = null;
  private chunkStartWall = new Map<number, number>();
  private lastFrameWall = 0;
  /** frames are grabbed and kept one at a time, so frame indices follow capture order */
  private frameChain: Promise<void> = Promise.resolve();
  private chunkStops: Promise<unknown>[] = [];
  /** the stream getUserMedia gave us (not one the page passed in on the video), released on stop */
  private ownedStream: MediaStream | null = null;

  constructor(private readonly cfg: CaptureOptions) {}

  /** Whether recorders run (between record() and stop()). */
  get recording(): boolean {
    return this.chunker !== null && this.schedule !== null;
  }

  /**
   * A live camera + microphone stream shown on `video`: the one it already shows (a preview), or
   * a new one from getUserMedia. Throws errors classifyMediaError understands.
   */
  async openStream(video: HTMLVideoElement): Promise<MediaStream> {
    let stream = video.srcObject instanceof MediaStream ? video.srcObject : null;
    const live = (kind: 'audio' | 'video') => stream?.getTracks().some((t) => t.kind === kind && t.readyState === 'live');
    if (!stream || !live('audio') || !live('video')) {
      if (!navigator.mediaDevices?.getUserMedia) throw Object.assign(new Error('insecure'), { name: 'InsecureContextError' });
      stream = await navigator.mediaDevices.getUserMedia({
        audio: this.cfg.audioConstraints ?? true,
        video: this.cfg.videoConstraints ?? { width: { ideal: 640 }, height: { ideal: 480 } },
      });
      this.ownedStream = stream;
      video.srcObject = stream;
      video.muted = true;
      await video.play().catch(() => {});
    }
    return stream;
  }

  /** Starts the first chunk now (after a recorder warm-up) and follows the schedule until stop(). */
  async record(stream: MediaStream, video: HTMLVideoElement, canvas: HTMLCanvasElement, mimeType: string, sink: CaptureSink): Promise<void> {
    const chunker = new AudioChunker(new MediaStream(stream.getAudioTracks()), { mimeType, audioBitsPerSecond: this.cfg.audioBitsPerSecond });
    await chunker.warmUp();
    const t0 = wallNow();
    const schedule = new CaptureSchedule(
      { chunkMs: this.cfg.chunkMs, overlapMs: this.cfg.overlapMs, frameMs: this.cfg.frameIntervalMs },
      t0,
      sink.nextChunkIndex(),
    );
    this.chunker = chunker;
    this.schedule = schedule;
    this.sink = sink;
    this.elements = { video, canvas };
    this.chunkStartWall.set(schedule.currentChunk, chunker.startChunk(schedule.currentChunk));
    const tick = () => {
      for (const a of schedule.tick(wallNow())) {
        if (a.type === 'start-chunk') {
          this.chunkStartWall.set(a.index, chunker.startChunk(a.index));
        } else if (a.type === 'stop-chunk') {
          this.chunkStops.push(chunker.stopChunk(a.index).then((c) => this.keepChunk(c, sink)));
        } else this.captureFrame(video, canvas, a.chunkIndex, sink);
      }
    };
    tick();
    this.stopTicker = startTicker(TICK_MS, tick);
  }

  /**
   * Ends the recording: drops a recorder that only covers the overlap, grabs a closing frame
   * inside the last chunk, flushes that chunk, and resolves once the sink has every item.
   */
  async stop(): Promise<void> {
    const { chunker, schedule, sink } = this;
    if (!chunker || !schedule || !sink) return;
    this.stopTicker?.();
    this.stopTicker = null;
    const current = schedule.currentChunk;
    // Inside the overlap window the next recorder covers nothing the current one does not.
    for (const i of chunker.runningIndices()) if (i !== current) chunker.discardChunk(i);
    // The closing frame is grabbed before the last recorder stops, so it lies inside that chunk.
    const { video, canvas } = this.elements!;
    if (wantsClosingFrame(wallNow(), this.lastFrameWall, this.cfg.frameIntervalMs)) this.captureFrame(video, canvas, current, sink);
    await this.frameChain;
    const last = chunker.stopChunk(current).then((c) => this.keepChunk(c, sink));
    await Promise.all([...this.chunkStops, last, this.frameChain]);
    this.chunkStops = [];
    this.chunker = null;
    this.schedule = null;
  }

  /** Stops the camera and microphone if getUserMedia opened them for us. */
  releaseDevices(): void {
    if (!this.ownedStream) return;
    for (const t of this.ownedStream.getTracks()) t.stop();
    this.ownedStream = null;
  }

  /** Page leaving: stop everything now; running chunks are thrown away. */
  destroy(): void {
    this.stopTicker?.();
    if (this.chunker) for (const i of this.chunker.runningIndices()) this.chunker.discardChunk(i);
    if (this.ownedStream) for (const t of this.ownedStream.getTracks()) t.stop();
  }

  private async keepChunk(c: CapturedChunk | null, sink: CaptureSink): Promise<void> {
    if (!c || c.blob.size === 0) return;
    const endWallMs = chunkEndWallMs(c, await decodedDurationMs(c.blob));
    this.log.chunks.push({ index: c.index, startWallMs: c.startWallMs, endWallMs, stopWallMs: c.endWallMs, size: c.blob.size, type: c.blob.type });
    return sink.keep('audio', c.index, c.blob, audioMeta(c.index, c.startWallMs, endWallMs, c.blob.size));
  }

  private captureFrame(video: HTMLVideoElement, canvas: HTMLCanvasElement, scheduledChunk: number, sink: CaptureSink) {
    this.frameChain = this.frameChain.then(async () => {
      const chunkIndex = frameChunkIndex(scheduledChunk, this.chunker?.recordingIndices() ?? []);
      const t = wallNow();
      const blob = await grabJpeg(video, canvas, this.cfg.jpegQuality).catch(() => null);
      if (!blob) return;
      if (this.cfg.onFrameStats) {
        const stats = measureFrame(canvas); // the picture just encoded is still on the canvas
        if (stats) this.cfg.onFrameStats(stats, t);
      }
      this.lastFrameWall = t;
      const index = sink.nextFrameIndex(); // frames are serialised: the previous one is already counted
      const offsetMs = frameOffsetMs(t, this.chunkStartWall.get(chunkIndex) ?? t);
      this.log.frames.push({ index, chunkIndex, wallMs: t, offsetMs, size: blob.size });
      await sink.keep('frame', index, blob, frameMeta(index, chunkIndex, t, offsetMs, blob.size));
    });
  }
}
