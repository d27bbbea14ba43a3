import { describe, expect, test } from 'bun:test';
import { CaptureEventQueue } from './capture-events.ts';
import { Outbox } from './outbox.ts';
import { MemoryOutboxStore, type SessionRecord } from './outbox-store.ts';
import { MediaTransport, type TransportOptions } from './transport.ts';
import { decodeBinaryFrame } from './wire.ts';

const SID = '0f8fad5b-d9cb-469f-a165-70867728950e';

/** A scripted in-process stand-in for the gateway's WebSocket, enough to drive the transport. */
class FakeSocket {
  static instances: FakeSocket[] = [];
  static autoAck = true;
  /** extra fields of the session_init_ack (a resumed session's `stored`) */
  static initAckExtra: Record<string, unknown> = {};
  /** session_init goes unanswered (a gateway that accepts the socket but never acks the init) */
  static silentInit = false;
  /** the gateway's answer to a capture_event (null: none) */
  static eventReply: ((m: { event_index: number; session_id: string }) => unknown) | null = null;
  binaryType = 'blob';
  readyState = 0;
  sent: Array<string | Blob> = [];
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
    queueMicrotask(() => {
      this.readyState = 1;
      this.onopen?.();
    });
  }
  send(data: string | Blob) {
    this.sent.push(data);
    if (typeof data === 'string') {
      const m = JSON.parse(data);
      if (m.type === 'session_init' && !FakeSocket.silentInit) this.reply({ type: 'session_init_ack', session_id: m.session_id, status: 'ready', ...FakeSocket.initAckExtra });
      if (m.type === 'capture_event' && FakeSocket.eventReply) {
        const r = FakeSocket.eventReply(m);
        if (r) this.reply(r);
      }
      if (m.type === 'session_complete')
        this.reply({ type: 'session_complete_ack', status: 'completed', total_chunks: m.total_chunks, total_frames: m.total_frames, missing_chunks: [], missing_frames: [] });
    } else if (FakeSocket.autoAck) {
      void data.arrayBuffer().then((b) => {
        const h = decodeBinaryFrame(new Uint8Array(b));
        this.reply(h.kind === 'audio' ? { type: 'audio_ack', chunk_index: h.index } : { type: 'frame_ack', frame_index: h.index });
      });
    }
  }
  reply(m: unknown) {
    queueMicrotask(() => this.readyState === 1 && this.onmessage?.({ data: JSON.stringify(m) }));
  }
  close(code = 1000, reason = '') {
    if (this.readyState > 1) return;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code, reason }));
  }
  blobsSent() {
    return this.sent.filter((d): d is Blob => typeof d !== 'string');
  }
}

const session: SessionRecord = { sessionId: SID, interviewSessionId: 1, nextChunkIndex: 0, nextFrameIndex: 0, failedChunks: 0, failedFrames: 0, state: 'recording', updatedAt: 0 };

async function setup(extra: Partial<TransportOptions> = {}) {
  FakeSocket.instances = [];
  FakeSocket.autoAck = true;
  FakeSocket.initAckExtra = {};
  FakeSocket.silentInit = false;
  FakeSocket.eventReply = (m) => ({ type: 'capture_event_ack', session_id: m.session_id, event_index: m.event_index });
  const store = new MemoryOutboxStore();
  const outbox = new Outbox({ windowItems: 2 });
  const settled: string[] = [];
  const t = new MediaTransport({
    url: 'ws://x/ws/media-stream',
    sessionId: SID,
    interviewSessionId: 1,
    outbox,
    store,
    backoff: { baseMs: 5, maxMs: 20 },
    WebSocketImpl: FakeSocket as unknown as typeof WebSocket,
    onSettled: (k, i, o, code) => settled.push(`${o}:${k}:${i}${code ? `:${code}` : ''}`),
    ...extra,
  });
  const add = async (kind: 'audio' | 'frame', index: number) => {
    const blob = new Blob([new Uint8Array([1, 2, 3, index])]);
    const meta = kind === 'audio' ? { chunk_index: index } : { frame_index: index };
    await store.putItem({ sessionId: SID, kind, index, size: 4, meta, blob }, session);
    outbox.add({ kind, index, size: 4, meta });
    t.kick();
  };
  return { store, outbox, t, add, settled };
}

const until = async (p: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!p()) {
    if (Date.now() > end) throw new Error('timeout');
    await Bun.sleep(5);
  }
};

describe('MediaTransport', () => {
  test('inits, sends metadata then header+blob, forgets acked items', async () => {
    const { t, add, outbox, store, settled } = await setup();
    t.start();
    await until(() => t.state === 'open');
    await add('audio', 0);
    await add('frame', 0);
    await until(() => outbox.size === 0);
    const ws = FakeSocket.instances[0]!;
    const kinds = ws.sent.map((d) => (typeof d === 'string' ? JSON.parse(d).type : 'binary'));
    expect(kinds).toEqual(['session_init', 'audio_metadata', 'binary', 'frame_metadata', 'binary']);
    expect(JSON.parse(ws.sent[1] as string)).toMatchObject({ session_id: SID, chunk_index: 0 });
    const bin = new Uint8Array(await (ws.sent[2] as Blob).arrayBuffer());
    expect(bin.length).toBe(45);
    expect([...bin.subarray(41)]).toEqual([1, 2, 3, 0]);
    await until(() => settled.length === 2);
    expect(await store.listItems(SID)).toEqual([]);
    t.close();
  });

  test('respects the send window', async () => {
    const { t, add } = await setup();
    FakeSocket.autoAck = false;
    t.start();
    await until(() => t.state === 'open');
    for (let i = 0; i < 5; i++) await add('audio', i);
    await Bun.sleep(20);
    expect(FakeSocket.instances[0]!.blobsSent().length).toBe(2);
    t.close();
  });

  test('reconnects with the same session and resends unacked items', async () => {
    const { t, add, outbox } = await setup();
    FakeSocket.autoAck = false;
    t.start();
    await until(() => t.state === 'open');
    await add('audio', 0);
    await add('audio', 1);
    await until(() => FakeSocket.instances[0]!.blobsSent().length === 2);
    FakeSocket.autoAck = true;
    FakeSocket.instances[0]!.close(1006); // gateway died
    await until(() => outbox.size === 0);
    expect(FakeSocket.instances.length).toBe(2);
    expect(t.reconnectAttempts).toBe(1);
    const init = JSON.parse(FakeSocket.instances[1]!.sent[0] as string);
    expect(init).toMatchObject({ type: 'session_init', session_id: SID, interview_session_id: 1 });
    t.close();
  });

  test('new work during the backoff reconnects at once, and that reconnect is counted', async () => {
    const { t, add, outbox } = await setup({ backoff: { baseMs: 60_000, maxMs: 60_000 } });
    t.start();
    await until(() => t.state === 'open');
    FakeSocket.instances[0]!.close(1006); // gateway died; the next try is a minute away
    await until(() => t.state === 'reconnecting');
    await add('frame', 0); // the capture keeps producing: kick() reconnects now
    await until(() => outbox.size === 0);
    expect(FakeSocket.instances.length).toBe(2);
    expect(t.reconnectAttempts).toBe(1);
    t.close();
  });

  test("a resumed session's stored ranges: those items count as acked and are not sent again", async () => {
    const { t, add, outbox, store, settled } = await setup();
    for (let i = 0; i < 5; i++) await add('audio', i);
    for (let i = 0; i < 3; i++) await add('frame', i);
    FakeSocket.initAckExtra = { stored: { chunks: [[0, 1], [3, 3]], frames: [[0, 5]] }, stored_truncated: false };
    t.start();
    await until(() => outbox.size === 0);
    const sent = FakeSocket.instances[0]!.sent.filter((d): d is string => typeof d === 'string').map((d) => JSON.parse(d));
    expect(sent.filter((m) => m.type === 'audio_metadata').map((m) => m.chunk_index)).toEqual([2, 4]);
    expect(sent.filter((m) => m.type === 'frame_metadata')).toEqual([]);
    expect(settled.slice(0, 6).sort()).toEqual(['acked:audio:0', 'acked:audio:1', 'acked:audio:3', 'acked:frame:0', 'acked:frame:1', 'acked:frame:2']);
    await until(() => settled.length === 8);
    expect(outbox.counts().acked).toEqual({ audio: 5, frame: 3 });
    expect(await store.listItems(SID)).toEqual([]);
    t.close();
  });

  test('an ack without stored, or with a malformed one, sends everything (the seed gateway)', async () => {
    const { t, add, outbox } = await setup();
    await add('audio', 0);
    await add('audio', 1);
    FakeSocket.initAckExtra = { stored: { chunks: 'all' } };
    t.start();
    await until(() => outbox.size === 0);
    expect(FakeSocket.instances[0]!.blobsSent().length).toBe(2);
    t.close();
  });

  test('permanent error drops the item as failed; retryable error is resent', async () => {
    const { t, add, outbox, settled } = await setup();
    FakeSocket.autoAck = false;
    t.start();
    await until(() => t.state === 'open');
    await add('audio', 0);
    await add('frame', 3);
    const ws = FakeSocket.instances[0]!;
    await until(() => ws.blobsSent().length === 2);
    ws.reply({ type: 'error', code: 'INDEX_CONFLICT', message: 'x', chunk_index: 0 });
    ws.reply({ type: 'error', code: 'UPSTREAM_UNAVAILABLE', message: 'x', frame_index: 3 });
    await until(() => ws.blobsSent().length === 3, 3000);
    ws.reply({ type: 'frame_ack', frame_index: 3 });
    await until(() => outbox.size === 0);
    expect(settled).toEqual(['failed:audio:0:INDEX_CONFLICT', 'acked:frame:3']);
    t.close();
  });

  test('sends the messages byte for byte as before the encoder (proto/wire encodeClientMessage)', async () => {
    const { t, add, outbox, store } = await setup();
    t.start();
    await until(() => t.state === 'open');
    const meta = { chunk_index: 0, start_timestamp: '2025-12-16T10:30:00.000Z', end_timestamp: '2025-12-16T10:30:10.000Z', duration_ms: 10000, size: 4 };
    await store.putItem({ sessionId: SID, kind: 'audio', index: 0, size: 4, meta, blob: new Blob([new Uint8Array([1, 2, 3, 0])]) }, session);
    outbox.add({ kind: 'audio', index: 0, size: 4, meta });
    t.kick();
    await add('frame', 2);
    await until(() => outbox.size === 0);
    await t.finish({ total_chunks: 1, total_frames: 3 }, 2000);
    const texts = FakeSocket.instances[0]!.sent.filter((d): d is string => typeof d === 'string');
    const noTime = (s: string) => s.replace(/"timestamp":"[^"]+"/, '"timestamp":"T"');
    expect(texts.map(noTime)).toEqual([
      `{"type":"session_init","session_id":"${SID}","interview_session_id":1,"timestamp":"T"}`,
      `{"type":"audio_metadata","session_id":"${SID}","chunk_index":0,"start_timestamp":"2025-12-16T10:30:00.000Z","end_timestamp":"2025-12-16T10:30:10.000Z","duration_ms":10000,"size":4}`,
      `{"type":"frame_metadata","session_id":"${SID}","frame_index":2}`,
      `{"type":"session_complete","session_id":"${SID}","timestamp":"T","total_chunks":1,"total_frames":3}`,
    ]);
    t.close();
  });

  test('an item whose blob vanished from the store fails as NOT_FOUND, once', async () => {
    const { t, outbox, settled } = await setup();
    t.start();
    await until(() => t.state === 'open');
    outbox.add({ kind: 'audio', index: 7, size: 4, meta: { chunk_index: 7 } }); // never stored
    t.kick();
    await until(() => outbox.size === 0);
    expect(settled).toEqual(['failed:audio:7:NOT_FOUND']);
    expect(FakeSocket.instances[0]!.blobsSent().length).toBe(0);
    t.close();
  });

  test('a session-level error that ends the session stops it for good; others do not', async () => {
    const { t } = await setup();
    t.start();
    await until(() => t.state === 'open');
    const ws = FakeSocket.instances[0]!;
    ws.reply({ type: 'error', code: 'TOO_MANY_PENDING', message: 'x' });
    await Bun.sleep(20);
    expect(t.state).toBe('open');
    ws.reply({ type: 'error', code: 'INTERVIEW_SESSION_NOT_FOUND', message: 'x' });
    await until(() => t.state === 'rejected');
    await Bun.sleep(50);
    expect(FakeSocket.instances.length).toBe(1);
  });

  test('finish sends session_complete once drained and returns the ack', async () => {
    const { t, add } = await setup();
    t.start();
    await add('audio', 0);
    const ack = await t.finish({ total_chunks: 1, total_frames: 0 }, 2000);
    expect(ack).toEqual({ total_chunks: 1, total_frames: 0, missing_chunks: [], missing_frames: [] });
    t.close();
  });

  test('session_init carries the upload token, on every connection', async () => {
    const { t } = await setup({ token: 'eyJ.tok.sig' });
    t.start();
    await until(() => t.state === 'open');
    FakeSocket.instances[0]!.close(1006);
    await until(() => FakeSocket.instances.length === 2 && t.state === 'open');
    for (const ws of FakeSocket.instances) expect(JSON.parse(ws.sent[0] as string)).toMatchObject({ type: 'session_init', session_id: SID, token: 'eyJ.tok.sig' });
    t.close();
  });

  test('a close the error table says to stop after ends the session, with its code, and never reconnects', async () => {
    const { t } = await setup({ token: 't' });
    t.start();
    await until(() => t.state === 'open');
    FakeSocket.instances[0]!.close(4402, 'INVALID_SESSION_ID');
    await until(() => t.state === 'rejected');
    expect(t.refusedCode).toBe('INVALID_SESSION_ID');
    await Bun.sleep(50);
    expect(FakeSocket.instances.length).toBe(1);
  });

  test('a refused token (close 4403, TOKEN_INVALID or FORBIDDEN) stops for good, with or without the error message first', async () => {
    for (const code of ['TOKEN_INVALID', 'FORBIDDEN']) {
      const { t } = await setup({ token: 't' });
      t.start();
      await until(() => t.state === 'open');
      FakeSocket.instances[0]!.close(4403, code);
      await until(() => t.state === 'rejected');
      expect(t.refusedCode).toBe(code);
    }
    const { t } = await setup({ token: 't' });
    t.start();
    await until(() => t.state === 'open');
    const ws = FakeSocket.instances[0]!;
    ws.reply({ type: 'error', code: 'TOKEN_INVALID', message: 'the upload token is not valid' });
    await until(() => t.state === 'rejected');
    expect(t.refusedCode).toBe('TOKEN_INVALID');
    ws.close(4403, 'TOKEN_INVALID');
    await Bun.sleep(50);
    expect(FakeSocket.instances.length).toBe(1);
  });

  test('a 4403 without a reason still stops, as TOKEN_INVALID', async () => {
    const { t } = await setup({ token: 't' });
    t.start();
    await until(() => t.state === 'open');
    FakeSocket.instances[0]!.close(4403);
    await until(() => t.state === 'rejected');
    expect(t.refusedCode).toBe('TOKEN_INVALID');
    await Bun.sleep(50);
    expect(FakeSocket.instances.length).toBe(1);
  });

  test('a refusal by error message records its code', async () => {
    const { t } = await setup();
    t.start();
    await until(() => t.state === 'open');
    FakeSocket.instances[0]!.reply({ type: 'error', code: 'INTERVIEW_SESSION_NOT_FOUND', message: 'x' });
    await until(() => t.state === 'rejected');
    expect(t.refusedCode).toBe('INTERVIEW_SESSION_NOT_FOUND');
  });

  test('a rolling restart (1012) reconnects at the first backoff step, whatever failed before', async () => {
    const { t } = await setup({ backoff: { baseMs: 100, maxMs: 60_000, random: () => 1 }, initTimeoutMs: 60_000 });
    FakeSocket.silentInit = true;
    t.start();
    await until(() => FakeSocket.instances.length === 1);
    // Three failed connections in a row: the next delay would be 800 ms.
    for (let i = 0; i < 3; i++) {
      const n = FakeSocket.instances.length;
      await until(() => FakeSocket.instances[n - 1]!.readyState === 1);
      FakeSocket.instances[n - 1]!.close(1006);
      await until(() => FakeSocket.instances.length === n + 1, 3000);
    }
    const n = FakeSocket.instances.length;
    await until(() => FakeSocket.instances[n - 1]!.readyState === 1);
    const closedAt = Date.now();
    FakeSocket.instances[n - 1]!.close(1012, 'SERVICE_RESTART');
    await until(() => FakeSocket.instances.length === n + 1, 3000);
    const waited = Date.now() - closedAt;
    expect(waited).toBeGreaterThanOrEqual(90);
    expect(waited).toBeLessThan(400);
    expect(t.state).not.toBe('rejected');
    t.close();
  });

  test('does not reconnect after the session was taken over', async () => {
    const { t } = await setup();
    t.start();
    await until(() => t.state === 'open');
    FakeSocket.instances[0]!.close(4409);
    await until(() => t.state === 'taken-over');
    await Bun.sleep(50);
    expect(FakeSocket.instances.length).toBe(1);
  });
});

describe('MediaTransport: capture_event', () => {
  const ev = (i: number) => ({ event_index: i, kind: 'silence' as const, phase: 'began' as const, at: '2026-12-03T10:00:00.000Z', detail: { after_ms: 20000 } });
  const typesSent = (ws: FakeSocket) => ws.sent.map((d) => (typeof d === 'string' ? JSON.parse(d).type : 'binary'));

  test('sent beside the window (a full window does not hold it back), acked events leave the queue', async () => {
    const events = new CaptureEventQueue();
    const settledEvents: string[] = [];
    const { t, add } = await setup({ events, onEventSettled: (i, o) => settledEvents.push(`${o}:${i}`) });
    FakeSocket.autoAck = false;
    t.start();
    await until(() => t.state === 'open');
    for (let i = 0; i < 3; i++) await add('audio', i); // window of 2: full
    events.add(ev(0));
    t.kick();
    await until(() => settledEvents.length === 1);
    const ws = FakeSocket.instances[0]!;
    expect(typesSent(ws)).toEqual(['session_init', 'audio_metadata', 'binary', 'audio_metadata', 'binary', 'capture_event']);
    expect(JSON.parse(ws.sent.at(-1) as string)).toEqual({ type: 'capture_event', session_id: SID, ...ev(0) });
    expect(settledEvents).toEqual(['acked:0']);
    expect(events.size).toBe(0);
    t.close();
  });

  test('unacked events go again after a reconnect; queued ones go as soon as the connection is ready', async () => {
    const events = new CaptureEventQueue([ev(0)]);
    FakeSocket.eventReply = null;
    const { t } = await setup({ events });
    FakeSocket.eventReply = null; // the gateway never answers on the first connection
    t.start();
    await until(() => FakeSocket.instances[0]?.sent.length === 2);
    expect(typesSent(FakeSocket.instances[0]!)).toEqual(['session_init', 'capture_event']);
    events.add(ev(1));
    t.kick();
    await until(() => FakeSocket.instances[0]!.sent.length === 3);
    FakeSocket.eventReply = (m) => ({ type: 'capture_event_ack', session_id: m.session_id, event_index: m.event_index });
    FakeSocket.instances[0]!.close(1006);
    await until(() => events.size === 0);
    const second = FakeSocket.instances[1]!.sent.slice(1).map((d) => JSON.parse(d as string).event_index);
    expect(second).toEqual([0, 1]);
    t.close();
  });

  test('a refusal drops the event once (logged, not retried); a transient one retries, then drops', async () => {
    const events = new CaptureEventQueue([], { retryDelayMs: 5, maxTransientErrors: 3 });
    const settledEvents: string[] = [];
    const logs: string[] = [];
    const { t } = await setup({ events, onEventSettled: (i, o, c) => settledEvents.push(`${o}:${i}:${c}`), log: (m) => logs.push(m) });
    FakeSocket.eventReply = (m) =>
      m.event_index === 0
        ? { type: 'error', code: 'INVALID_MESSAGE', message: 'detail must be an object', field: 'detail', event_index: 0 }
        : { type: 'error', code: 'UPSTREAM_UNAVAILABLE', message: 'later', event_index: m.event_index };
    t.start();
    await until(() => t.state === 'open');
    events.add(ev(0));
    events.add(ev(1));
    t.kick();
    await until(() => settledEvents.length === 2);
    expect(settledEvents).toEqual(['dropped:0:INVALID_MESSAGE', 'dropped:1:UPSTREAM_UNAVAILABLE']);
    const sent = FakeSocket.instances[0]!.sent.slice(1).map((d) => JSON.parse(d as string).event_index);
    expect(sent).toEqual([0, 1, 1, 1]);
    expect(logs.filter((l) => l.includes('capture_event'))).toHaveLength(2);
    expect(t.state).toBe('open'); // an event's refusal never ends the session
    t.close();
  });
});
