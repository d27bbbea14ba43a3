import { describe, expect, test } from 'bun:test';
import fc from 'fast-check';
import { parseClientMessage } from '../../../proto/wire/messages.ts';
import { captureEvent, CaptureEventQueue, fitDetail, isStoredCaptureEvent } from './capture-events.ts';
import { CAPTURE_EVENT_KINDS, encodeClientMessage, MAX_CAPTURE_EVENT_DETAIL_BYTES } from './wire.ts';

const SID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const AT = Date.UTC(2026, 11, 3, 10, 0, 0, 250);

describe('captureEvent', () => {
  test('a transition becomes the stored event, `at` in the ISO format of audio_metadata', () => {
    expect(captureEvent(7, { kind: 'camera_black', phase: 'began', at: AT, detail: { luma: 3 } })).toEqual({
      event_index: 7,
      kind: 'camera_black',
      phase: 'began',
      at: '2026-12-03T10:00:00.250Z',
      detail: { luma: 3 },
    });
    expect(captureEvent(0, { kind: 'tab_hidden', phase: 'ended', at: AT })).not.toHaveProperty('detail');
  });

  test('whatever the detail, the gateway parser accepts the message it makes', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 2 ** 32 - 1 }),
        fc.constantFrom(...CAPTURE_EVENT_KINDS),
        fc.constantFrom('began' as const, 'ended' as const),
        fc.dictionary(fc.string({ maxLength: 45 }), fc.oneof(fc.string({ maxLength: 300 }), fc.double(), fc.boolean(), fc.constant(null), fc.object())),
        (index, kind, phase, detail) => {
          const e = captureEvent(index, { kind, phase, at: AT, detail: detail as never });
          const parsed = parseClientMessage(encodeClientMessage({ type: 'capture_event', session_id: SID, ...e, detail: e.detail ?? null }));
          expect(parsed).toMatchObject({ event_index: index, kind, phase, detail: e.detail ?? null });
        },
      ),
      { numRuns: 300 },
    );
  });

  test('fitDetail keeps keys in order until the byte budget is spent', () => {
    const big = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'x'.repeat(60)]));
    const fit = fitDetail(big)!;
    expect(new TextEncoder().encode(JSON.stringify(fit)).length).toBeLessThanOrEqual(MAX_CAPTURE_EVENT_DETAIL_BYTES);
    expect(Object.keys(fit)).toEqual(Object.keys(big).slice(0, Object.keys(fit).length));
    expect(fitDetail({ Bad: 1, n: Number.NaN })).toBeUndefined();
  });

  test('isStoredCaptureEvent refuses what another version may have stored', () => {
    expect(isStoredCaptureEvent(captureEvent(1, { kind: 'silence', phase: 'began', at: AT }))).toBe(true);
    for (const bad of [null, {}, { event_index: -1, kind: 'silence', phase: 'began', at: 'x' }, { event_index: 1, kind: 'loud', phase: 'began', at: 'x' }])
      expect(isStoredCaptureEvent(bad)).toBe(false);
  });
});

describe('CaptureEventQueue', () => {
  const ev = (i: number) => captureEvent(i, { kind: 'tab_hidden', phase: i % 2 ? 'ended' : 'began', at: AT + i });

  test('takeDue hands each event out once per connection, oldest first; disconnect hands them out again', () => {
    const q = new CaptureEventQueue([ev(2), ev(0)]);
    q.add(ev(1));
    q.add(ev(1)); // idempotent
    expect(q.takeDue(0).map((e) => e.event_index)).toEqual([0, 1, 2]);
    expect(q.takeDue(0)).toEqual([]);
    expect(q.ack(1)).toBe(true);
    expect(q.ack(1)).toBe(false);
    q.disconnect();
    expect(q.takeDue(0).map((e) => e.event_index)).toEqual([0, 2]);
    expect(q.list().map((e) => e.event_index)).toEqual([0, 2]);
  });

  test('a refusal drops; a transient error waits retryDelayMs, at most maxTransientErrors times', () => {
    const q = new CaptureEventQueue([ev(0), ev(1)], { retryDelayMs: 100, maxTransientErrors: 2 });
    q.takeDue(0);
    expect(q.reject(0, 'INDEX_CONFLICT', 0)).toBe('dropped');
    expect(q.reject(1, 'UPSTREAM_UNAVAILABLE', 10)).toBe('retry');
    expect(q.nextRetryAt()).toBe(110);
    expect(q.takeDue(50)).toEqual([]);
    expect(q.takeDue(110).map((e) => e.event_index)).toEqual([1]);
    expect(q.reject(1, 'UPSTREAM_UNAVAILABLE', 120)).toBe('dropped');
    expect(q.reject(9, 'INTERNAL', 0)).toBe('unknown');
    expect(q.size).toBe(0);
  });

  test('holds at most maxQueued events, dropping the oldest', () => {
    const q = new CaptureEventQueue([], { maxQueued: 3 });
    for (let i = 0; i < 3; i++) expect(q.add(ev(i))).toEqual([]);
    expect(q.add(ev(3)).map((e) => e.event_index)).toEqual([0]);
    expect(q.list().map((e) => e.event_index)).toEqual([1, 2, 3]);
  });
});
