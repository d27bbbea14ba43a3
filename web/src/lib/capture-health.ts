/**
 * @module capture-health
 * Live health of a recording, so the candidate learns of a dead microphone or a covered camera
 * while it can still be fixed, not after the interview. Pure: no DOM, no timers. The page feeds
 * it what it already has, each observation with its wall-clock time in ms:
 *
 *   level(v, at)        the microphone level meter (DevicePreview, 0..1, −60 dBFS → 0)
 *   track(dev, s, at)   a mic / camera track's mute, unmute, ended (live again = a new track)
 *   frame(stats, at)    per grabbed camera frame: mean luma and a small grey signature
 *                       (frameStats() of the downscaled frame the grabber already drew)
 *   devices(d, at)      a devicechange whose diffDevices() found something relevant
 *   visibility(h, at)   document.visibilityState
 *   setRecording(b, at) problems are only reported between Start and Stop
 *
 * Each call returns the transitions it caused, `{kind, phase: "began"|"ended", at, detail}`;
 * `active` is the set of problems now. `at` is when the page noticed (docs/protocol.md, Capture
 * events): for the problems that need time to show (silence, camera_black, camera_frozen) the
 * began's `detail.after_ms` says how long the condition had already held, so a reviewer's
 * timeline can draw the interval from `at − after_ms`. `device_changed` is a one-shot (began only). Stopping the recording ends every active problem (detail
 * `{cause: "recording_stopped"}`), so every began has an ended on the timeline.
 *
 * The more specific problem hides the vaguer one: no `silence` while the mic is muted or ended,
 * no `camera_black`/`camera_frozen` while the camera is; a black picture never counts as frozen.
 */
import type { CaptureEventDetail, CaptureEventKind, CaptureEventPhase } from './wire.ts';

export type { CaptureEventKind } from './wire.ts';

/** Every threshold of the health checks. Times in ms, luma on the 0..255 scale (BT.601 weights). */
export interface HealthThresholds {
  /**
   * Meter level (0..1, DevicePreview's scale: −60 dBFS → 0, 0 dBFS → 1) below which a sample counts
   * as silent. 0.02 ≈ −59 dBFS: a muted, dead or disconnected microphone reads 0 (digital silence),
   * while a working one in a quiet room reads its own noise floor above this.
   */
  silenceLevel: number;
  /** silent samples for this long, while recording, make a `silence` problem */
  silenceMs: number;
  /**
   * Level samples further apart than this break a silent run (the meter runs on
   * requestAnimationFrame, which stops in a hidden tab: a gap is unknown, not silence).
   */
  maxLevelGapMs: number;
  /** mean luma of a frame below which it counts as black (a covered lens or shutter reads ~0–5; a dim room ~30+) */
  blackLuma: number;
  /** this many consecutive black frames make a `camera_black` problem (3 frames = ~4 s at 2 s per frame) */
  blackFrames: number;
  /** frames unchanged for this long make a `camera_frozen` problem */
  frozenMs: number;
  /**
   * Mean absolute difference of two grey signatures (0..255) at or below which the frames count
   * as the same picture. A frozen camera repeats one picture exactly (difference 0); a live
   * sensor's noise keeps even a still scene above this.
   */
  frozenMaxDiff: number;
  /** the grey signature is signatureWidth × signatureHeight pixels */
  signatureWidth: number;
  signatureHeight: number;
}

export const HEALTH_DEFAULTS: Readonly<HealthThresholds> = Object.freeze({
  silenceLevel: 0.02,
  silenceMs: 20_000,
  maxLevelGapMs: 1_000,
  blackLuma: 12,
  blackFrames: 3,
  frozenMs: 10_000,
  frozenMaxDiff: 0.5,
  signatureWidth: 16,
  signatureHeight: 12,
});

export interface HealthTransition {
  kind: CaptureEventKind;
  phase: CaptureEventPhase;
  /** wall-clock ms since the epoch */
  at: number;
  detail?: CaptureEventDetail;
}

export interface ActiveProblem {
  kind: CaptureEventKind;
  /** when it began (wall-clock ms) */
  since: number;
}

export type TrackDevice = 'mic' | 'camera';
export type TrackState = 'live' | 'muted' | 'ended';

/** What the grabber measured of one frame. */
export interface FrameStats {
  /** mean luma 0..255 */
  meanLuma: number;
  /** grey values 0..255, row-major, signatureWidth × signatureHeight */
  signature: Uint8Array;
}

/** Mean luma and grey signature of RGBA pixels (a downscaled canvas's ImageData.data). */
export function frameStats(rgba: ArrayLike<number>): FrameStats {
  const n = Math.floor(rgba.length / 4);
  const signature = new Uint8Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const y = 0.299 * rgba[i * 4]! + 0.587 * rgba[i * 4 + 1]! + 0.114 * rgba[i * 4 + 2]!;
    signature[i] = Math.round(y);
    sum += y;
  }
  return { meanLuma: n ? sum / n : 0, signature };
}

/** Mean absolute difference of two signatures (0..255); Infinity when their sizes differ. */
export function signatureDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length || a.length === 0) return Infinity;
  let d = 0;
  for (let i = 0; i < a.length; i++) d += Math.abs(a[i]! - b[i]!);
  return d / a.length;
}

/** One media device as enumerateDevices lists it (the fields that matter here). */
export interface DeviceInfo {
  deviceId: string;
  kind: string;
  groupId: string;
}

/**
 * What a devicechange changed for this recording, as a capture_event detail, or null when it
 * does not concern it: a device in use vanished (`mic_gone` / `camera_gone`), or the system's
 * default input changed (`default_mic_changed` / `default_camera_changed`: Chromium lists the
 * default as deviceId "default", whose groupId names the real device). A device merely plugged
 * in is not worth a banner.
 */
export function diffDevices(before: readonly DeviceInfo[], after: readonly DeviceInfo[], inUse: { mic?: string; camera?: string }): CaptureEventDetail | null {
  const detail: CaptureEventDetail = {};
  const has = (list: readonly DeviceInfo[], id: string) => list.some((d) => d.deviceId === id);
  const defaultGroup = (list: readonly DeviceInfo[], kind: string) => list.find((d) => d.kind === kind && d.deviceId === 'default')?.groupId;
  if (inUse.mic && inUse.mic !== 'default' && has(before, inUse.mic) && !has(after, inUse.mic)) detail.mic_gone = true;
  if (inUse.camera && has(before, inUse.camera) && !has(after, inUse.camera)) detail.camera_gone = true;
  for (const [kind, key] of [['audioinput', 'default_mic_changed'], ['videoinput', 'default_camera_changed']] as const) {
    const b = defaultGroup(before, kind);
    const a = defaultGroup(after, kind);
    if (b !== undefined && a !== b) detail[key] = true;
  }
  return Object.keys(detail).length ? detail : null;
}

const SUPPRESSED_BY: Partial<Record<CaptureEventKind, CaptureEventKind[]>> = {
  silence: ['mic_muted', 'mic_ended'],
  camera_black: ['camera_muted', 'camera_ended'],
  camera_frozen: ['camera_muted', 'camera_ended', 'camera_black'],
};

export class CaptureHealth {
  readonly opts: HealthThresholds;
  private recording = false;
  private readonly problems = new Map<CaptureEventKind, ActiveProblem>();
  private tracks: Record<TrackDevice, TrackState> = { mic: 'live', camera: 'live' };
  private hidden = false;
  /** start of the current run of silent samples, and the last sample's time */
  private silentSince: number | null = null;
  private lastLevelAt: number | null = null;
  /** consecutive black frames, and when the first of them was grabbed */
  private blackRun = 0;
  private blackSince = 0;
  /** the picture the current run of unchanged frames shows, and when it was first grabbed */
  private still: { signature: Uint8Array; since: number } | null = null;

  constructor(opts: Partial<HealthThresholds> = {}) {
    this.opts = { ...HEALTH_DEFAULTS, ...opts };
  }

  /** The problems now, oldest first. */
  get active(): ActiveProblem[] {
    return [...this.problems.values()].sort((a, b) => a.since - b.since);
  }

  get isRecording(): boolean {
    return this.recording;
  }

  /**
   * Start: the state already observed (a muted track, a hidden tab) is reported at once. Stop:
   * every active problem ends. Silence, black and frozen start counting afresh at each start.
   */
  setRecording(on: boolean, at: number): HealthTransition[] {
    if (on === this.recording) return [];
    this.recording = on;
    this.silentSince = this.lastLevelAt = null;
    this.blackRun = 0;
    this.still = null;
    if (!on) {
      const out = this.active.map((p): HealthTransition => ({ kind: p.kind, phase: 'ended', at, detail: { cause: 'recording_stopped' } }));
      this.problems.clear();
      return out;
    }
    const out: HealthTransition[] = [];
    for (const dev of ['mic', 'camera'] as const) out.push(...this.trackProblems(dev, at));
    if (this.hidden) out.push(...this.begin('tab_hidden', at));
    return out;
  }

  level(value: number, at: number): HealthTransition[] {
    const gap = this.lastLevelAt === null || at - this.lastLevelAt > this.opts.maxLevelGapMs;
    this.lastLevelAt = at;
    if (!this.recording) return [];
    if (!(value < this.opts.silenceLevel)) {
      this.silentSince = null;
      return this.end('silence', at);
    }
    if (gap || this.silentSince === null) this.silentSince = at;
    if (at - this.silentSince >= this.opts.silenceMs) return this.begin('silence', at, { after_ms: Math.round(at - this.silentSince) });
    return [];
  }

  track(device: TrackDevice, state: TrackState, at: number): HealthTransition[] {
    if (this.tracks[device] === state) return [];
    this.tracks[device] = state;
    if (device === 'mic') this.silentSince = null;
    else {
      this.blackRun = 0;
      this.still = null;
    }
    return this.trackProblems(device, at);
  }

  frame(stats: FrameStats, at: number): HealthTransition[] {
    if (!this.recording) return [];
    const out: HealthTransition[] = [];
    if (stats.meanLuma < this.opts.blackLuma) {
      if (this.blackRun++ === 0) this.blackSince = at;
      this.still = null; // black is its own problem, never "frozen"
      if (this.blackRun >= this.opts.blackFrames) out.push(...this.begin('camera_black', at, { luma: Math.round(stats.meanLuma), after_ms: Math.round(at - this.blackSince) }));
      return out;
    }
    this.blackRun = 0;
    out.push(...this.end('camera_black', at));
    if (this.still && signatureDiff(this.still.signature, stats.signature) <= this.opts.frozenMaxDiff) {
      if (at - this.still.since >= this.opts.frozenMs) out.push(...this.begin('camera_frozen', at, { after_ms: Math.round(at - this.still.since) }));
    } else {
      this.still = { signature: stats.signature, since: at };
      out.push(...this.end('camera_frozen', at));
    }
    return out;
  }

  /** A devicechange that concerns this recording (diffDevices' result): one-shot. */
  devices(detail: CaptureEventDetail, at: number): HealthTransition[] {
    return this.recording ? [{ kind: 'device_changed', phase: 'began', at, detail }] : [];
  }

  visibility(hidden: boolean, at: number): HealthTransition[] {
    if (hidden === this.hidden) return [];
    this.hidden = hidden;
    if (hidden) return this.begin('tab_hidden', at);
    this.lastLevelAt = null; // the meter did not run while hidden
    return this.end('tab_hidden', at);
  }

  private trackProblems(device: TrackDevice, at: number): HealthTransition[] {
    const state = this.tracks[device];
    const muted = device === 'mic' ? 'mic_muted' : 'camera_muted';
    const ended = device === 'mic' ? 'mic_ended' : 'camera_ended';
    const out: HealthTransition[] = [];
    // An ended track is no longer "muted": only the worse problem stays.
    out.push(...(state === 'muted' ? this.begin(muted, at) : this.end(muted, at)));
    out.push(...(state === 'ended' ? this.begin(ended, at) : this.end(ended, at)));
    return out;
  }

  private begin(kind: CaptureEventKind, at: number, detail?: CaptureEventDetail): HealthTransition[] {
    if (!this.recording || this.problems.has(kind)) return [];
    if (SUPPRESSED_BY[kind]?.some((k) => this.problems.has(k))) return [];
    const out: HealthTransition[] = [];
    // A newly specific problem replaces the vaguer one it explains.
    for (const [vaguer, by] of Object.entries(SUPPRESSED_BY) as [CaptureEventKind, CaptureEventKind[]][]) {
      if (by.includes(kind)) out.push(...this.end(vaguer, at, { cause: kind }));
    }
    this.problems.set(kind, { kind, since: at });
    out.push(detail ? { kind, phase: 'began', at, detail } : { kind, phase: 'began', at });
    return out;
  }

  private end(kind: CaptureEventKind, at: number, detail?: CaptureEventDetail): HealthTransition[] {
    const p = this.problems.get(kind);
    if (!p) return [];
    this.problems.delete(kind);
    const t = Math.max(at, p.since); // never before it began, whatever clock the caller passes
    return [detail ? { kind, phase: 'ended', at: t, detail } : { kind, phase: 'ended', at: t }];
  }
}
