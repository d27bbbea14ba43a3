import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { CaptureHealth, diffDevices, frameStats, HEALTH_DEFAULTS, signatureDiff, type FrameStats, type HealthTransition } from './capture-health.ts';

const T0 = Date.UTC(2026, 11, 3, 10, 0, 0);
const sig = (v: number) => new Uint8Array(HEALTH_DEFAULTS.signatureWidth * HEALTH_DEFAULTS.signatureHeight).fill(v);
const picture = (seed: number): FrameStats => ({ meanLuma: 100, signature: sig(0).map((_, i) => (i * 7 + seed * 31) % 256) });
const black: FrameStats = { meanLuma: 0, signature: sig(0) };
const brief = (ts: HealthTransition[]) => ts.map((t) => `${t.kind}:${t.phase}@${t.at - T0}`);

function recording() {
  const h = new CaptureHealth();
  h.setRecording(true, T0);
  return h;
}

/** Feeds level samples every `stepMs` from `from` to `to` (inclusive), returning all transitions. */
function levels(h: CaptureHealth, value: number, from: number, to: number, stepMs = 16) {
  const out: HealthTransition[] = [];
  for (let t = from; t <= to; t += stepMs) out.push(...h.level(value, T0 + t));
  return out;
}

describe('silence', () => {
  test('begins once 20 s of silent samples have passed (after_ms: since the first one); a sound ends it', () => {
    const h = recording();
    expect(levels(h, 0.3, 0, 1000)).toEqual([]);
    expect(levels(h, 0, 1008, 21_000)).toEqual([]);
    const began = levels(h, 0, 21_008, 21_100);
    expect(brief(began)).toEqual(['silence:began@21008']);
    expect(began[0]!.detail).toEqual({ after_ms: 20_000 });
    expect(h.active.map((p) => p.kind)).toEqual(['silence']);
    expect(brief(h.level(0.5, T0 + 30_000))).toEqual(['silence:ended@30000']);
    expect(h.active).toEqual([]);
  });

  test('not before recording starts; a gap in the meter (hidden tab) restarts the count', () => {
    const h = new CaptureHealth();
    expect(levels(h, 0, 0, 25_000)).toEqual([]);
    h.setRecording(true, T0 + 25_000);
    expect(levels(h, 0, 25_016, 40_000)).toEqual([]);
    // 5 s without samples: the silent run starts again at 45 s
    expect(levels(h, 0, 45_000, 64_990)).toEqual([]);
    expect(levels(h, 0, 65_000, 65_000)).toEqual([{ kind: 'silence', phase: 'began', at: T0 + 65_000, detail: { after_ms: 20_000 } }]);
  });

  test('a muted microphone replaces silence and keeps it away', () => {
    const h = recording();
    levels(h, 0, 0, 20_000);
    expect(h.active.map((p) => p.kind)).toEqual(['silence']);
    expect(brief(h.track('mic', 'muted', T0 + 22_000))).toEqual(['silence:ended@22000', 'mic_muted:began@22000']);
    expect(levels(h, 0, 22_016, 60_000)).toEqual([]);
    expect(brief(h.track('mic', 'live', T0 + 61_000))).toEqual(['mic_muted:ended@61000']);
    expect(brief(levels(h, 0, 61_016, 81_016))).toEqual(['silence:began@81016']);
  });
});

describe('tracks', () => {
  test('mute, unmute, ended; ended replaces muted', () => {
    const h = recording();
    expect(brief(h.track('camera', 'muted', T0 + 1))).toEqual(['camera_muted:began@1']);
    expect(brief(h.track('camera', 'muted', T0 + 2))).toEqual([]);
    expect(brief(h.track('camera', 'ended', T0 + 3))).toEqual(['camera_muted:ended@3', 'camera_ended:began@3']);
    expect(brief(h.track('mic', 'ended', T0 + 4))).toEqual(['mic_ended:began@4']);
    expect(h.active.map((p) => p.kind)).toEqual(['camera_ended', 'mic_ended']);
  });

  test('a track muted before Start is reported at Start; Stop ends everything', () => {
    const h = new CaptureHealth();
    expect(h.track('mic', 'muted', T0)).toEqual([]);
    expect(h.visibility(true, T0 + 1)).toEqual([]);
    expect(brief(h.setRecording(true, T0 + 5))).toEqual(['mic_muted:began@5', 'tab_hidden:began@5']);
    const stop = h.setRecording(false, T0 + 9);
    expect(brief(stop)).toEqual(['mic_muted:ended@9', 'tab_hidden:ended@9']);
    expect(stop[0]!.detail).toEqual({ cause: 'recording_stopped' });
    expect(h.active).toEqual([]);
  });
});

describe('camera pictures', () => {
  test('black after 3 consecutive black frames (after_ms: since the first); a picture ends it', () => {
    const h = recording();
    expect(h.frame(picture(1), T0)).toEqual([]);
    expect(h.frame(black, T0 + 2000)).toEqual([]);
    expect(h.frame(black, T0 + 4000)).toEqual([]);
    const t = h.frame(black, T0 + 6000);
    expect(brief(t)).toEqual(['camera_black:began@6000']);
    expect(t[0]!.detail).toEqual({ luma: 0, after_ms: 4000 });
    expect(h.frame(black, T0 + 30_000)).toEqual([]); // black never turns into frozen
    expect(brief(h.frame(picture(2), T0 + 32_000))).toEqual(['camera_black:ended@32000']);
  });

  test('frozen when the picture has not changed for 10 s; a new picture ends it', () => {
    const h = recording();
    const same = picture(5);
    for (let t = 0; t < 10_000; t += 2000) expect(h.frame(same, T0 + t)).toEqual([]);
    const f = h.frame({ ...same, signature: same.signature.slice() }, T0 + 10_000);
    expect(brief(f)).toEqual(['camera_frozen:began@10000']);
    expect(f[0]!.detail).toEqual({ after_ms: 10_000 });
    expect(brief(h.frame(picture(6), T0 + 12_000))).toEqual(['camera_frozen:ended@12000']);
  });

  test('sensor noise below the threshold is still "the same picture"; above it is not', () => {
    const base = picture(3);
    const noisy = (d: number) => ({ ...base, signature: base.signature.map((v, i) => (i % 2 ? Math.min(255, v + d) : v)) });
    const h = recording();
    for (let t = 0; t <= 10_000; t += 2000) h.frame(noisy(t % 4000 ? 1 : 0), T0 + t); // mean diff 0.5
    expect(h.active.map((p) => p.kind)).toEqual(['camera_frozen']);
    const h2 = recording();
    for (let t = 0; t <= 10_000; t += 2000) h2.frame(noisy(t % 4000 ? 4 : 0), T0 + t); // mean diff 2
    expect(h2.active).toEqual([]);
  });

  test('frameStats: mean luma and signature of RGBA pixels', () => {
    const rgba = new Uint8ClampedArray([255, 255, 255, 255, 0, 0, 0, 255, 255, 0, 0, 255, 0, 0, 255, 255]);
    const s = frameStats(rgba);
    expect([...s.signature]).toEqual([255, 0, 76, 29]);
    expect(s.meanLuma).toBeCloseTo((255 + 0 + 76.245 + 29.07) / 4, 3);
    expect(signatureDiff(s.signature, s.signature)).toBe(0);
    expect(signatureDiff(s.signature, new Uint8Array(3))).toBe(Infinity);
  });
});

describe('devices and visibility', () => {
  const mic = { deviceId: 'm1', kind: 'audioinput', groupId: 'g1' };
  const cam = { deviceId: 'c1', kind: 'videoinput', groupId: 'g2' };
  const def = (groupId: string) => ({ deviceId: 'default', kind: 'audioinput', groupId });

  test('diffDevices: a device in use vanished, or the default changed; a new device alone is nothing', () => {
    expect(diffDevices([mic, cam], [cam], { mic: 'm1', camera: 'c1' })).toEqual({ mic_gone: true });
    expect(diffDevices([mic, cam], [mic], { mic: 'm1', camera: 'c1' })).toEqual({ camera_gone: true });
    expect(diffDevices([def('g1'), mic, cam], [def('g9'), mic, cam], { mic: 'default', camera: 'c1' })).toEqual({ default_mic_changed: true });
    expect(diffDevices([mic, cam], [mic, cam, { deviceId: 'm2', kind: 'audioinput', groupId: 'g3' }], { mic: 'm1', camera: 'c1' })).toBeNull();
  });

  test('device_changed is one-shot and only while recording; tab_hidden begins and ends', () => {
    const h = new CaptureHealth();
    expect(h.devices({ mic_gone: true }, T0)).toEqual([]);
    h.setRecording(true, T0 + 1);
    expect(h.devices({ mic_gone: true }, T0 + 2)).toEqual([{ kind: 'device_changed', phase: 'began', at: T0 + 2, detail: { mic_gone: true } }]);
    expect(h.active).toEqual([]);
    expect(brief(h.visibility(true, T0 + 3))).toEqual(['tab_hidden:began@3']);
    expect(brief(h.visibility(false, T0 + 8))).toEqual(['tab_hidden:ended@8']);
  });
});

describe('properties', () => {
  type Obs =
    | { o: 'level'; v: number }
    | { o: 'track'; dev: 'mic' | 'camera'; s: 'live' | 'muted' | 'ended' }
    | { o: 'frame'; black: boolean; seed: number }
    | { o: 'vis'; hidden: boolean }
    | { o: 'rec'; on: boolean }
    | { o: 'dev' };
  const obs: fc.Arbitrary<Obs> = fc.oneof(
    fc.record({ o: fc.constant('level' as const), v: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })) }),
    fc.record({ o: fc.constant('track' as const), dev: fc.constantFrom('mic' as const, 'camera' as const), s: fc.constantFrom('live' as const, 'muted' as const, 'ended' as const) }),
    fc.record({ o: fc.constant('frame' as const), black: fc.boolean(), seed: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ o: fc.constant('vis' as const), hidden: fc.boolean() }),
    fc.record({ o: fc.constant('rec' as const), on: fc.boolean() }),
    fc.record({ o: fc.constant('dev' as const) }),
  );

  test('per kind, began and ended alternate, ended never precedes its began, and `active` is what began and did not end', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(obs, fc.integer({ min: 0, max: 6000 })), { maxLength: 300 }), (steps) => {
        const h = new CaptureHealth();
        const open = new Map<string, number>();
        let t = T0;
        for (const [o, dt] of steps) {
          t += dt;
          const out =
            o.o === 'level' ? h.level(o.v, t)
            : o.o === 'track' ? h.track(o.dev, o.s, t)
            : o.o === 'frame' ? h.frame(o.black ? black : picture(o.seed), t)
            : o.o === 'vis' ? h.visibility(o.hidden, t)
            : o.o === 'rec' ? h.setRecording(o.on, t)
            : h.devices({ mic_gone: true }, t);
          for (const e of out) {
            expect(e.at).toBeLessThanOrEqual(t);
            if (e.kind === 'device_changed') {
              expect(e.phase).toBe('began');
              continue;
            }
            if (e.phase === 'began') {
              expect(open.has(e.kind)).toBe(false);
              open.set(e.kind, e.at);
            } else {
              expect(open.has(e.kind)).toBe(true);
              expect(e.at).toBeGreaterThanOrEqual(open.get(e.kind)!);
              open.delete(e.kind);
            }
          }
          expect(new Set<string>(h.active.map((p) => p.kind))).toEqual(new Set(open.keys()));
          if (!h.isRecording) expect(open.size).toBe(0);
          // the specific problem hides the vaguer one
          const kinds = new Set(open.keys());
          if (kinds.has('silence')) expect(kinds.has('mic_muted') || kinds.has('mic_ended')).toBe(false);
          if (kinds.has('camera_frozen')) expect(kinds.has('camera_black')).toBe(false);
        }
      }),
      { numRuns: 300 },
    );
  });
});
