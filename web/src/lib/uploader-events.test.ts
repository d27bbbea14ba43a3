/**
 * The Uploader's capture_event bookkeeping: the sequence and the unacked events live in the
 * session record, so a reload (a new Uploader on the same store) continues both.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test';
import { MemoryOutboxStore } from './outbox-store.ts';
import { initialUploadStatus, Uploader } from './uploader.ts';

const g = globalThis as Record<string, unknown>;
const saved = { window: g.window, localStorage: g.localStorage };
beforeAll(() => {
  const ls = new Map<string, string>();
  g.window = { addEventListener() {}, removeEventListener() {} };
  g.localStorage = { getItem: (k: string) => ls.get(k) ?? null, setItem: (k: string, v: string) => ls.set(k, v), removeItem: (k: string) => ls.delete(k) };
});
afterAll(() => Object.assign(g, saved));

const AT = Date.UTC(2026, 11, 3, 10, 0, 0);

test('events are numbered from 0 with the session, kept until acked, and a reload continues the numbering', async () => {
  const store = new MemoryOutboxStore();
  const opts = { websocketUrl: 'ws://127.0.0.1:9/ws/media-stream', interviewSessionId: 5, token: 't', store };
  const status = initialUploadStatus(5);
  const first = new Uploader(opts, status);
  await first.init();
  await first.captureEvent({ kind: 'camera_black', phase: 'began', at: AT, detail: { luma: 0 } });
  await first.captureEvent({ kind: 'camera_black', phase: 'ended', at: AT + 4000 });
  first.destroy();
  const [rec] = await store.listSessions();
  expect(rec!.nextEventIndex).toBe(2);
  expect(rec!.captureEvents).toEqual([
    { event_index: 0, kind: 'camera_black', phase: 'began', at: '2026-12-03T10:00:00.000Z', detail: { luma: 0 } },
    { event_index: 1, kind: 'camera_black', phase: 'ended', at: '2026-12-03T10:00:04.000Z' },
  ]);

  const again = new Uploader(opts, { ...initialUploadStatus(5), sessionId: status.sessionId });
  await again.init(); // the unacked events are queued again (and a transport opened for them)
  await again.captureEvent({ kind: 'tab_hidden', phase: 'began', at: AT + 9000 });
  again.destroy();
  const [after] = await store.listSessions();
  expect(after!.nextEventIndex).toBe(3);
  expect(after!.captureEvents!.map((e) => e.event_index)).toEqual([0, 1, 2]);
});
