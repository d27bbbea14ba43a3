/**
 * @module audio-chunker
 * Turns a live audio track into standalone, decodable files by running one MediaRecorder per
 * chunk (no timeslice: each recorder yields exactly one complete file on stop). The recorder for
 * chunk k+1 is started before chunk k's is stopped (see capture-schedule.ts), so the chunks
 * overlap by ~overlapMs and no audio is lost at a boundary; start/end wall-clock times are kept
 * so a consumer can trim the overlap and rebuild one gapless track.
 */
import { wallNow } from './ticker.ts';

/**
 * Duration (ms) of the audio actually in a chunk file. A stopped recorder drops its unfinished
 * Opus frame (up to 60 ms), so "stop() time" overstates the end; end = start + decoded duration
 * keeps end_timestamp true to the content, which is what rebuilding a gapless track needs.
 * Undefined when the browser cannot decode it (the caller then falls back to the stop time).
 */
export async function decodedDurationMs(blob: Blob): Promise<number | undefined> {
  try {
    const Ctx = globalThis.OfflineAudioContext;
    if (!Ctx) return undefined;
    const buf = await new Ctx(1, 1, 48_000).decodeAudioData(await blob.arrayBuffer());
    return buf.duration > 0 ? buf.duration * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export interface CapturedChunk {
  index: number;
  blob: Blob;
  /** wall-clock ms when the recorder started / stopped */
  startWallMs: number;
  endWallMs: number;
}

interface Running {
  index: number;
  rec: MediaRecorder;
  startWallMs: number;
  parts: Blob[];
  done: Promise<CapturedChunk | null>;
}

export class AudioChunker {
  private running = new Map<number, Running>();

  constructor(
    private stream: MediaStream,
    private opts: { mimeType: string; audioBitsPerSecond: number },
  ) {}

  /**
   * Runs a throwaway recorder for `ms` and discards it. The first MediaRecorder of a page starts
   * capturing 25-65 ms after start() (encoder and pipeline set-up), later ones within ~15 ms; a
   * warm-up before chunk 0 keeps chunk 0's start_timestamp as accurate as the others'.
   */
  async warmUp(ms = 300): Promise<void> {
    const rec = new MediaRecorder(this.stream, { mimeType: this.opts.mimeType, audioBitsPerSecond: this.opts.audioBitsPerSecond });
    const stopped = new Promise<void>((resolve) => {
      rec.onstop = () => resolve();
      rec.onerror = () => resolve();
    });
    rec.start();
    await new Promise((r) => setTimeout(r, ms));
    if (rec.state !== 'inactive') rec.stop();
    await stopped;
  }

  /** Starts recording chunk `index`; returns its start time (wall-clock ms, taken just before start()). */
  startChunk(index: number): number {
    const rec = new MediaRecorder(this.stream, { mimeType: this.opts.mimeType, audioBitsPerSecond: this.opts.audioBitsPerSecond });
    const r: Running = { index, rec, startWallMs: 0, parts: [], done: Promise.resolve(null) };
    r.done = new Promise((resolve) => {
      rec.ondataavailable = (ev) => {
        if (ev.data.size > 0) r.parts.push(ev.data);
      };
      rec.onstop = () => {
        const endWallMs = (rec as unknown as { _endWallMs?: number })._endWallMs ?? wallNow();
        this.running.delete(index);
        resolve({ index, blob: new Blob(r.parts, { type: rec.mimeType || this.opts.mimeType }), startWallMs: r.startWallMs, endWallMs });
      };
      rec.onerror = () => {
        this.running.delete(index);
        resolve(null);
      };
    });
    r.startWallMs = wallNow();
    rec.start();
    this.running.set(index, r);
    return r.startWallMs;
  }

  /** Stops chunk `index`; resolves with its file once the recorder has flushed it. */
  stopChunk(index: number): Promise<CapturedChunk | null> {
    const r = this.running.get(index);
    if (!r) return Promise.resolve(null);
    if (r.rec.state !== 'inactive') {
      (r.rec as unknown as { _endWallMs?: number })._endWallMs = wallNow();
      r.rec.stop();
    }
    return r.done;
  }

  /** Stops a recorder and throws its data away (the overlap recorder when recording ends inside the overlap). */
  discardChunk(index: number): void {
    const r = this.running.get(index);
    if (!r) return;
    r.rec.ondataavailable = null;
    r.rec.onstop = null;
    if (r.rec.state !== 'inactive') r.rec.stop();
    this.running.delete(index);
  }

  /** Chunks whose recorder is capturing right now (stop() not yet called), oldest first. */
  recordingIndices(): number[] {
    return [...this.running.values()].filter((r) => r.rec.state === 'recording').map((r) => r.index).sort((a, b) => a - b);
  }

  runningIndices(): number[] {
    return [...this.running.keys()].sort((a, b) => a - b);
  }
}
