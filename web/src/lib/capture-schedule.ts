/**
 * @module capture-schedule
 * When to start/stop the audio recorders and when to grab a camera frame. Pure: the caller feeds
 * it the current time (ms) on every tick and performs the actions it returns.
 *
 * Audio chunks are produced by consecutive, overlapping MediaRecorders, because
 *  - `MediaRecorder.start(timeslice)` blobs after the first are not standalone files, and
 *  - stopping one recorder and starting the next loses the unfinished Opus frame (20–30 ms).
 * So the recorder for chunk k+1 starts `overlapMs` BEFORE the recorder for chunk k stops:
 *
 *   chunk k   |=================================|
 *   chunk k+1                            |======|===========================|
 *                                 stopAt(k)-overlapMs  stopAt(k)
 *
 * Stop times follow a fixed grid (stopAt(k+1) = stopAt(k) + chunkMs) so chunks do not drift; if
 * ticks arrive late (throttled tab) the grid is re-anchored rather than emitting tiny catch-up chunks.
 * Frames follow their own grid every frameMs from the start; missed frames are skipped, not burst.
 */

export interface ScheduleConfig {
  /** nominal audio chunk length (ms) */
  chunkMs: number;
  /** how long consecutive recorders both run (ms); must be < chunkMs / 2 */
  overlapMs: number;
  /** camera frame period (ms) */
  frameMs: number;
}

export type ScheduleAction =
  | { type: 'start-chunk'; index: number }
  | { type: 'stop-chunk'; index: number }
  | { type: 'frame'; chunkIndex: number };

export class CaptureSchedule {
  /** index of the oldest running recorder (the chunk frames are attributed to) */
  currentChunk: number;
  /** when the current recorder stops (ms, same clock as `now`) */
  currentStopAt: number;
  /** whether the recorder for currentChunk + 1 already runs (overlap window) */
  nextStarted = false;
  nextFrameAt: number;

  constructor(
    readonly cfg: ScheduleConfig,
    /** time the first recorder starts (ms) */
    t0: number,
    firstChunkIndex = 0,
  ) {
    if (cfg.chunkMs <= 0 || cfg.frameMs <= 0) throw new RangeError('chunkMs and frameMs must be > 0');
    if (cfg.overlapMs < 0 || cfg.overlapMs * 2 >= cfg.chunkMs) throw new RangeError('overlapMs must be in [0, chunkMs/2)');
    this.currentChunk = firstChunkIndex;
    this.currentStopAt = t0 + cfg.chunkMs;
    this.nextFrameAt = t0;
  }

  /** Actions due at `now`, in the order they must be performed. */
  tick(now: number): ScheduleAction[] {
    const out: ScheduleAction[] = [];
    const { chunkMs, overlapMs, frameMs } = this.cfg;
    // A frame due before the chunk boundary belongs to the chunk that is still current.
    if (now >= this.nextFrameAt) {
      out.push({ type: 'frame', chunkIndex: this.currentChunk });
      this.nextFrameAt += frameMs;
      if (this.nextFrameAt <= now) this.nextFrameAt = now + frameMs;
    }
    if (!this.nextStarted && now >= this.currentStopAt - overlapMs) {
      out.push({ type: 'start-chunk', index: this.currentChunk + 1 });
      this.nextStarted = true;
    }
    if (now >= this.currentStopAt) {
      out.push({ type: 'stop-chunk', index: this.currentChunk });
      this.currentChunk += 1;
      this.nextStarted = false;
      const next = this.currentStopAt + chunkMs;
      // Late by more than half a chunk: re-anchor instead of producing a runt chunk.
      this.currentStopAt = next - now < chunkMs / 2 ? now + chunkMs : next;
    }
    return out;
  }

  /** Earliest time anything is due (for sleeping between ticks). */
  nextDueAt(): number {
    const chunkEvent = this.nextStarted ? this.currentStopAt : this.currentStopAt - this.cfg.overlapMs;
    return Math.min(chunkEvent, this.nextFrameAt);
  }
}

/** ISO timestamps and duration of a chunk from its recorder's start/stop wall-clock times (ms). */
export function chunkTiming(startWallMs: number, endWallMs: number) {
  return {
    start_timestamp: new Date(startWallMs).toISOString(),
    end_timestamp: new Date(endWallMs).toISOString(),
    duration_ms: Math.max(0, Math.round(endWallMs - startWallMs)),
  };
}

/** Where a frame taken at `frameWallMs` sits in the audio timeline of the chunk that started at `chunkStartWallMs`. */
export function frameOffsetMs(frameWallMs: number, chunkStartWallMs: number): number {
  return Math.max(0, Math.round(frameWallMs - chunkStartWallMs));
}
