import { describe, expect, test } from 'bun:test';
import { Outbox, type OutboxEntry } from './outbox.ts';

const audio = (index: number, size = 1000): OutboxEntry => ({ kind: 'audio', index, size, meta: { chunk_index: index } });
const frame = (index: number, size = 100): OutboxEntry => ({ kind: 'frame', index, size, meta: { frame_index: index } });

function sendAll(o: Outbox, now: number) {
  const sent: string[] = [];
  for (let e = o.next(now); e; e = o.next(now)) {
    o.markSent(e.kind, e.index, now);
    sent.push(`${e.kind}:${e.index}`);
  }
  return sent;
}

describe('Outbox', () => {
  test('sends in capture order and forgets acked items', () => {
    const o = new Outbox();
    o.add(frame(0));
    o.add(audio(0));
    o.add(frame(1));
    expect(sendAll(o, 0)).toEqual(['frame:0', 'audio:0', 'frame:1']);
    expect(o.ack('audio', 0)).toBe(true);
    expect(o.ack('audio', 0)).toBe(false); // duplicate ack
    expect(o.counts()).toMatchObject({ waiting: { audio: 0, frame: 2 }, inflight: 2, acked: { audio: 1, frame: 0 } });
  });

  test('settleStored: items the server already holds leave as acked, pending or in flight, and are never sent', () => {
    const o = new Outbox({ windowItems: 2 });
    for (let i = 0; i < 10; i++) o.add(audio(i));
    o.add(frame(0));
    o.markSent('audio', 0, 0);
    const stored = new Set(['audio:0', 'audio:1', 'audio:2', 'audio:4', 'audio:5', 'audio:6', 'audio:8', 'audio:9', 'audio:42']);
    const gone = o.settleStored((kind, index) => stored.has(`${kind}:${index}`));
    expect(gone.map((e) => `${e.kind}:${e.index}`)).toEqual(['audio:0', 'audio:1', 'audio:2', 'audio:4', 'audio:5', 'audio:6', 'audio:8', 'audio:9']);
    expect(o.counts()).toMatchObject({ waiting: { audio: 2, frame: 1 }, inflight: 0, acked: { audio: 8, frame: 0 } });
    expect(sendAll(o, 0)).toEqual(['audio:3', 'audio:7']);
    expect(o.ack('audio', 3)).toBe(true);
    expect(o.ack('audio', 7)).toBe(true);
    expect(sendAll(o, 0)).toEqual(['frame:0']);
    // a late ack of a settled item is a duplicate; adding it again is ignored
    expect(o.ack('audio', 0)).toBe(false);
    expect(o.add(audio(1))).toBe(false);
    expect(o.settleStored(() => true).map((e) => `${e.kind}:${e.index}`)).toEqual(['frame:0']);
    expect(o.size).toBe(0);
  });

  test('add is idempotent, including for already acked items', () => {
    const o = new Outbox();
    expect(o.add(audio(0))).toBe(true);
    expect(o.add(audio(0))).toBe(false);
    sendAll(o, 0);
    o.ack('audio', 0);
    expect(o.add(audio(0))).toBe(false);
    expect(o.size).toBe(0);
  });

  test('window bounds items in flight', () => {
    const o = new Outbox({ windowItems: 2 });
    for (let i = 0; i < 5; i++) o.add(audio(i));
    expect(sendAll(o, 0)).toEqual(['audio:0', 'audio:1']);
    o.ack('audio', 0);
    expect(sendAll(o, 0)).toEqual(['audio:2']);
  });

  test('window bounds bytes in flight, but an oversized item may go alone', () => {
    const o = new Outbox({ windowItems: 10, windowBytes: 2500 });
    o.add(audio(0, 1000));
    o.add(audio(1, 1000));
    o.add(audio(2, 1000));
    o.add(audio(3, 9000));
    expect(sendAll(o, 0)).toEqual(['audio:0', 'audio:1']);
    o.ack('audio', 0);
    o.ack('audio', 1);
    expect(sendAll(o, 0)).toEqual(['audio:2']);
    o.ack('audio', 2);
    expect(sendAll(o, 0)).toEqual(['audio:3']);
  });

  test('disconnect puts inflight items back, to be resent first', () => {
    const o = new Outbox();
    o.add(audio(0));
    o.add(audio(1));
    sendAll(o, 0);
    o.add(audio(2));
    o.disconnect();
    expect(o.counts().inflight).toBe(0);
    expect(sendAll(o, 5)).toEqual(['audio:0', 'audio:1', 'audio:2']);
  });

  test('ack timeout resends', () => {
    const o = new Outbox({ ackTimeoutMs: 1000 });
    o.add(frame(0));
    sendAll(o, 0);
    expect(o.nextWakeAt()).toBe(1000);
    expect(o.expire(999)).toBe(0);
    expect(o.expire(1000)).toBe(1);
    expect(sendAll(o, 1000)).toEqual(['frame:0']);
  });

  test('retryable error backs off; permanent error drops as failed', () => {
    const o = new Outbox({ retryBackoff: { baseMs: 100, maxMs: 1000, random: () => 0 } });
    o.add(audio(0));
    o.add(audio(1));
    sendAll(o, 0);
    expect(o.reject('audio', 0, 'UPSTREAM_UNAVAILABLE', 10)).toBe('retry');
    expect(o.next(20)).toBeUndefined();
    expect(o.nextWakeAt()).toBe(60);
    expect(sendAll(o, 60)).toEqual(['audio:0']);
    expect(o.reject('audio', 1, 'INDEX_CONFLICT', 70)).toBe('failed');
    expect(o.reject('audio', 1, 'INDEX_CONFLICT', 70)).toBe('unknown');
    expect(o.counts()).toMatchObject({ waiting: { audio: 1, frame: 0 }, failed: { audio: 1, frame: 0 } });
  });

  test('a transient refusal (STORAGE_FULL, UPSTREAM_UNAVAILABLE) never drops an item; other retried codes do, at maxErrors', () => {
    const o = new Outbox({ maxErrors: 3, retryBackoff: { baseMs: 1, maxMs: 1, random: () => 0 } });
    o.add(audio(0));
    o.add(audio(1));
    let now = 0;
    for (let i = 0; i < 50; i++) {
      now += 10;
      sendAll(o, now);
      expect(o.reject('audio', 0, i % 2 ? 'STORAGE_FULL' : 'UPSTREAM_UNAVAILABLE', now)).toBe('retry');
    }
    expect(o.counts()).toMatchObject({ waiting: { audio: 2, frame: 0 }, failed: { audio: 0, frame: 0 } });
    const outcomes = [1, 2, 3].map(() => {
      now += 10;
      sendAll(o, now);
      return o.reject('audio', 1, 'CHECKSUM_MISMATCH', now);
    });
    expect(outcomes).toEqual(['retry', 'retry', 'failed']);
  });

  test('the codes that drop an item come from the error table (proto/wire); unknown codes are retried', () => {
    const o = new Outbox({ retryBackoff: { baseMs: 1, maxMs: 1, random: () => 0 } });
    const drop = ['INDEX_CONFLICT', 'SIZE_MISMATCH', 'UNSUPPORTED_MEDIA_TYPE', 'BLOB_TOO_LARGE', 'INVALID_MESSAGE', 'SESSION_COMPLETED', 'NOT_FOUND'];
    const retry = ['UPSTREAM_UNAVAILABLE', 'STORAGE_FULL', 'INTERNAL', 'METADATA_MISSING', 'CHECKSUM_MISMATCH', 'SOMETHING_NEW'];
    [...drop, ...retry].forEach((_, i) => o.add(audio(i)));
    sendAll(o, 0);
    expect(drop.map((c, i) => o.reject('audio', i, c, 1))).toEqual(drop.map(() => 'failed'));
    expect(retry.map((c, i) => o.reject('audio', drop.length + i, c, 1))).toEqual(retry.map(() => 'retry'));
  });

  test('gives up after maxErrors error replies of a code that is not transient', () => {
    const o = new Outbox({ maxErrors: 3, retryBackoff: { baseMs: 1, maxMs: 1, random: () => 0 } });
    o.add(frame(4));
    const outcomes = [];
    for (let i = 0; i < 3; i++) {
      sendAll(o, i * 10);
      outcomes.push(o.reject('frame', 4, 'INTERNAL', i * 10));
    }
    expect(outcomes).toEqual(['retry', 'retry', 'failed']);
    expect(o.size).toBe(0);
  });
});
