/**
 * @module media-stream
 * `useMediaStream` — the specification's capture hook in Svelte 5 terms. Usable from any page:
 *
 * @example
 * ```svelte
 * <script lang="ts">
 *   import { useMediaStream } from '$lib/media-stream.svelte';
 *   // token: an upload token for interview 123, minted by your server with an API key
 *   const media = useMediaStream({ interviewSessionId: 123, token, websocketUrl: 'ws://localhost:8000/ws/media-stream' });
 *   const { status, startRecording, stopRecording } = media;
 *   let video: HTMLVideoElement, canvas: HTMLCanvasElement;
 *   onDestroy(media.destroy);
 * </script>
 * <video bind:this={video} muted playsinline></video><canvas bind:this={canvas} hidden></canvas>
 * <button onclick={() => startRecording(video, canvas)}>Start</button>
 * <p>{status.chunksRecorded} chunks, {status.framesRecorded} frames</p>
 * ```
 *
 * A thin wrapper: it holds the `$state` status and the recording phase, and wires two parts —
 * `Capture` (capture.ts: devices, recorders, schedule, frames) hands every item to the
 * `Uploader` (uploader.ts: outbox store, transport, finish, orphans, tab locks), which writes
 * the upload half of the status. A `CaptureHealthMonitor` (capture-health-monitor.ts) watches
 * the recording: its problems are `status.problems` (the page's CaptureHealthBanner shows them)
 * and each transition becomes a capture_event through the uploader.
 */
import { Capture, DEFAULT_CAPTURE, pickRecorderType, type CaptureLog } from './capture.ts';
import type { CaptureEventKind, HealthThresholds, HealthTransition } from './capture-health.ts';
import { CaptureHealthMonitor } from './capture-health-monitor.ts';
import { classifyMediaError, DEVICE_PROBLEM_TEXT, type DeviceProblem } from './media-support.ts';
import type { OutboxOptions } from './outbox.ts';
import type { OutboxStore } from './outbox-store.ts';
import { initialUploadStatus, Uploader, type UploadStatus } from './uploader.ts';

export type { CaptureLog } from './capture.ts';

export interface MediaStreamOptions {
  /** audio chunk length (ms); default 10 000 */
  audioChunkDuration?: number;
  /** camera frame period (ms); default 2000 */
  frameInterval?: number;
  websocketUrl: string;
  interviewSessionId: number;
  userId?: number;
  /** the upload token for this interview, sent in session_init (a resumed session's stored token otherwise) */
  token?: string;
  /** when `token` expires (ISO 8601) */
  tokenExpiresAt?: string;
  /** Opus/AAC bitrate (bits/s); default 32 000 */
  audioBitsPerSecond?: number;
  /** how long consecutive recorders overlap (ms); default 120 */
  overlapMs?: number;
  /** JPEG quality 0..1; default 0.8 */
  jpegQuality?: number;
  /** stopRecording() waits at most this long for acks (ms); the upload continues after that; default 15 000 */
  ackWaitMs?: number;
  audioConstraints?: MediaTrackConstraints | boolean;
  videoConstraints?: MediaTrackConstraints | boolean;
  outbox?: Partial<OutboxOptions>;
  /** defaults to IndexedDB (memory if unavailable) */
  store?: OutboxStore;
  /** capture-health thresholds over HEALTH_DEFAULTS (capture-health.ts) */
  health?: Partial<HealthThresholds>;
}

/** A capture problem the page shows now; `device_changed` (a one-shot) stays for DEVICE_NOTICE_MS. */
export interface CaptureProblem {
  kind: CaptureEventKind;
  /** wall-clock ms */
  since: number;
}

/** How long the one-shot "a device changed" notice stays up unless dismissed (ms). */
export const DEVICE_NOTICE_MS = 15_000;

export type Phase = 'loading' | 'idle' | 'starting' | 'recording' | 'stopping' | 'stopped' | 'error';

export interface MediaStreamStatus extends UploadStatus {
  phase: Phase;
  mimeType: string | null;
  deviceProblem: DeviceProblem | null;
  /** capture problems while recording (silence, muted/ended tracks, black/frozen camera, …), oldest first */
  problems: CaptureProblem[];
}

export function useMediaStream(options: MediaStreamOptions) {
  const browser = typeof window !== 'undefined';
  const status = $state<MediaStreamStatus>({ phase: 'loading', mimeType: null, deviceProblem: null, problems: [], ...initialUploadStatus(options.interviewSessionId) });
  let deviceNotice: { since: number; timer: ReturnType<typeof setTimeout> } | null = null;
  const showProblems = () => {
    const notice: CaptureProblem[] = deviceNotice ? [{ kind: 'device_changed', since: deviceNotice.since }] : [];
    status.problems = [...health.core.active, ...notice];
  };
  const onHealth = (ts: HealthTransition[]) => {
    for (const t of ts) {
      void uploader.captureEvent(t);
      if (t.kind === 'device_changed') {
        if (deviceNotice) clearTimeout(deviceNotice.timer);
        deviceNotice = { since: t.at, timer: setTimeout(dismissDeviceNotice, DEVICE_NOTICE_MS) };
      }
    }
    showProblems();
  };
  const dismissDeviceNotice = () => {
    if (deviceNotice) clearTimeout(deviceNotice.timer);
    deviceNotice = null;
    showProblems();
  };
  const health = new CaptureHealthMonitor(onHealth, options.health);
  const capture = new Capture({
    chunkMs: options.audioChunkDuration ?? DEFAULT_CAPTURE.chunkMs,
    frameIntervalMs: options.frameInterval ?? DEFAULT_CAPTURE.frameIntervalMs,
    overlapMs: options.overlapMs ?? DEFAULT_CAPTURE.overlapMs,
    audioBitsPerSecond: options.audioBitsPerSecond ?? DEFAULT_CAPTURE.audioBitsPerSecond,
    jpegQuality: options.jpegQuality ?? DEFAULT_CAPTURE.jpegQuality,
    audioConstraints: options.audioConstraints,
    videoConstraints: options.videoConstraints,
    onFrameStats: (stats, wallMs) => health.frame(stats, wallMs),
  });
  const uploader = new Uploader({ ...options, onRefused: () => void refused() }, status);
  let destroyed = false;

  /** The gateway refused the session for good (e.g. an expired token): capturing more would upload nothing. */
  async function refused() {
    health.setRecording(false);
    health.unwatch();
    if (capture.recording) await capture.stop();
    capture.releaseDevices();
    if (!destroyed) status.phase = 'error';
  }

  async function init() {
    (window as unknown as { __candidCapture?: CaptureLog }).__candidCapture = capture.log;
    const { stopped } = await uploader.init();
    if (!destroyed) status.phase = stopped ? 'stopped' : 'idle';
  }
  const ready = browser ? init() : Promise.resolve();

  async function startRecording(video: HTMLVideoElement, canvas: HTMLCanvasElement): Promise<void> {
    await ready;
    if (destroyed || status.phase === 'recording' || status.phase === 'starting' || status.phase === 'stopping') return;
    if (status.refusedCode) return; // the session cannot upload any more: status.error says so
    status.phase = 'starting';
    status.error = null;
    status.deviceProblem = null;
    status.complete = null;
    try {
      const mimeType = (status.mimeType = pickRecorderType());
      const stream = await capture.openStream(video);
      await uploader.begin();
      await capture.record(stream, video, canvas, mimeType, uploader);
      health.watch(stream);
      health.setRecording(true);
      status.phase = 'recording';
      if (status.refusedCode) await refused(); // refused while the recorders were starting
    } catch (e) {
      const problem = classifyMediaError(e);
      status.deviceProblem = problem;
      status.error = problem === 'unknown' ? `Could not start recording: ${(e as Error).message}` : DEVICE_PROBLEM_TEXT[problem];
      status.phase = 'error';
    }
  }

  async function stopRecording(): Promise<void> {
    if (status.phase !== 'recording' || !capture.recording) return;
    status.phase = 'stopping';
    // Problems end with the recording, so each one is an interval on the reviewer's timeline.
    health.setRecording(false);
    health.unwatch();
    dismissDeviceNotice();
    await capture.stop();
    await uploader.end();
    capture.releaseDevices();
    await uploader.finish();
    status.phase = 'stopped';
  }

  return {
    get sessionId() {
      return status.sessionId;
    },
    /** whether this session has an upload token (once `ready`); without one, start a new interview */
    hasToken: () => uploader.hasToken(),
    status,
    startRecording,
    stopRecording,
    /** a sample of the page's microphone level meter (0..1, DevicePreview's `onlevel`): silence detection */
    observeLevel: (level: number) => health.level(level),
    /** hides the one-shot "a device changed" notice */
    dismissDeviceNotice,
    /** releases the socket, timers and devices this hook acquired; stored items stay for next time */
    destroy: () => {
      destroyed = true;
      health.unwatch();
      if (deviceNotice) clearTimeout(deviceNotice.timer);
      uploader.destroy();
      capture.destroy();
    },
    /** resolves once stored items of an earlier page have been loaded */
    ready,
  };
}
