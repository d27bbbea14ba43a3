/**
 * @module capture-health-monitor
 * The DOM half of capture health: turns what the browser says about the recording into
 * observations for the pure `CaptureHealth` core (capture-health.ts) and hands its transitions
 * to `emit`. Browser events map onto the core like this:
 *
 *   MediaStreamTrack mute / unmute / ended  → track('mic' | 'camera', 'muted' | 'live' | 'ended')
 *   navigator.mediaDevices devicechange     → enumerateDevices, diffDevices(before, after, in use) → devices()
 *   document visibilitychange               → visibility(hidden)
 *   level(v) / frame(stats)                 → fed by the page's level meter and the frame grabber
 *
 * Times are the capture's wall clock (ticker.ts `wallNow`), the clock audio_metadata uses.
 */
import { CaptureHealth, diffDevices, type DeviceInfo, type FrameStats, type HealthThresholds, type HealthTransition, type TrackDevice } from './capture-health.ts';
import { wallNow } from './ticker.ts';

export class CaptureHealthMonitor {
  readonly core: CaptureHealth;
  private detach: Array<() => void> = [];
  private devicesBefore: DeviceInfo[] = [];
  private inUse: { mic?: string; camera?: string } = {};

  constructor(
    private readonly emit: (ts: HealthTransition[]) => void,
    thresholds: Partial<HealthThresholds> = {},
  ) {
    this.core = new CaptureHealth(thresholds);
  }

  /** Follows the stream's tracks, the device list and the tab's visibility (replacing an earlier stream). */
  watch(stream: MediaStream): void {
    this.unwatch();
    const tracks: Array<[TrackDevice, MediaStreamTrack | undefined]> = [
      ['mic', stream.getAudioTracks()[0]],
      ['camera', stream.getVideoTracks()[0]],
    ];
    for (const [dev, track] of tracks) {
      if (!track) {
        this.out(this.core.track(dev, 'ended', wallNow()));
        continue;
      }
      const state = () => (track.readyState === 'ended' ? 'ended' : track.muted ? 'muted' : 'live');
      const on = () => this.out(this.core.track(dev, state(), wallNow()));
      on();
      for (const ev of ['mute', 'unmute', 'ended']) track.addEventListener(ev, on);
      this.detach.push(() => {
        for (const ev of ['mute', 'unmute', 'ended']) track.removeEventListener(ev, on);
      });
      this.inUse[dev] = track.getSettings?.().deviceId;
    }
    const onVisibility = () => this.out(this.core.visibility(document.visibilityState === 'hidden', wallNow()));
    onVisibility();
    document.addEventListener('visibilitychange', onVisibility);
    this.detach.push(() => document.removeEventListener('visibilitychange', onVisibility));
    const md = navigator.mediaDevices;
    if (md?.enumerateDevices && md.addEventListener) {
      const list = () => md.enumerateDevices().then((ds) => ds.map((d) => ({ deviceId: d.deviceId, kind: d.kind, groupId: d.groupId })), () => [] as DeviceInfo[]);
      void list().then((ds) => (this.devicesBefore = ds));
      const onDeviceChange = async () => {
        const after = await list();
        const detail = diffDevices(this.devicesBefore, after, this.inUse);
        this.devicesBefore = after;
        if (detail) this.out(this.core.devices(detail, wallNow()));
      };
      md.addEventListener('devicechange', onDeviceChange);
      this.detach.push(() => md.removeEventListener('devicechange', onDeviceChange));
    }
  }

  unwatch(): void {
    for (const d of this.detach) d();
    this.detach = [];
  }

  setRecording(on: boolean): void {
    this.out(this.core.setRecording(on, wallNow()));
  }

  /** A level meter sample (0..1, DevicePreview's scale). */
  level(value: number, at = wallNow()): void {
    this.out(this.core.level(value, at));
  }

  frame(stats: FrameStats, at: number): void {
    this.out(this.core.frame(stats, at));
  }

  private out(ts: HealthTransition[]) {
    if (ts.length) this.emit(ts);
  }
}
