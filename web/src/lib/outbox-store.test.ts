import { describe, expect, test } from 'bun:test';
import { FallbackOutboxStore, MemoryOutboxStore, type OutboxStore, type SessionRecord, type StoredItem } from './outbox-store.ts';

const SID = '4f7d2c1e-8a3b-4c5d-9e6f-0a1b2c3d4e5f';
const session = (nextChunkIndex: number): SessionRecord => ({
  sessionId: SID,
  interviewSessionId: 1,
  nextChunkIndex,
  nextFrameIndex: 0,
  failedChunks: 0,
  failedFrames: 0,
  state: 'recording',
  updatedAt: 0,
});
const item = (index: number, text = `chunk ${index}`): StoredItem => ({
  sessionId: SID,
  kind: 'audio',
  index,
  size: text.length,
  meta: { chunk_index: index },
  blob: new Blob([text]),
});

/** A memory store whose writes start failing when `full` is set (like IndexedDB at quota). */
class FillingStore extends MemoryOutboxStore {
  full = false;
  sessionWritesFail = false;
  override async putItem(i: StoredItem, s: SessionRecord) {
    if (this.full) throw Object.assign(new Error('quota'), { name: 'QuotaExceededError' });
    return super.putItem(i, s);
  }
  override async putSession(s: SessionRecord) {
    if (this.sessionWritesFail) throw new Error('broken');
    return super.putSession(s);
  }
}

/** Wraps a FillingStore without being a MemoryOutboxStore, as IndexedDB is not. */
const asForeign = (s: OutboxStore): OutboxStore => ({
  putItem: (i, r) => s.putItem(i, r),
  getBlob: (a, k, i) => s.getBlob(a, k, i),
  deleteItem: (a, k, i) => s.deleteItem(a, k, i),
  listItems: (a) => s.listItems(a),
  putSession: (r) => s.putSession(r),
  listSessions: () => s.listSessions(),
  deleteSession: (a) => s.deleteSession(a),
});

describe('FallbackOutboxStore', () => {
  test('writes through the primary while it works', async () => {
    const primary = new FillingStore();
    const errors: Error[] = [];
    const store = new FallbackOutboxStore(asForeign(primary), (e) => errors.push(e));
    await store.putItem(item(0), session(1));
    expect(await primary.listItems(SID)).toHaveLength(1);
    expect(await (await store.getBlob(SID, 'audio', 0))?.text()).toBe('chunk 0');
    expect(errors).toEqual([]);
  });

  test('a failed write moves new items to memory; old ones stay readable in the primary', async () => {
    const primary = new FillingStore();
    const errors: Error[] = [];
    const store = new FallbackOutboxStore(asForeign(primary), (e) => errors.push(e));
    await store.putItem(item(0), session(1));
    primary.full = true;
    await store.putItem(item(1), session(2));
    await store.putItem(item(2), session(3));
    expect(errors.map((e) => e.name)).toEqual(['QuotaExceededError']); // told once: later writes go straight to memory
    expect((await primary.listItems(SID)).map((i) => i.index)).toEqual([0]);
    expect((await store.listItems(SID)).map((i) => i.index)).toEqual([1, 2]);
    expect(await (await store.getBlob(SID, 'audio', 0))?.text()).toBe('chunk 0');
    expect(await (await store.getBlob(SID, 'audio', 2))?.text()).toBe('chunk 2');
    await store.deleteItem(SID, 'audio', 0);
    await store.deleteItem(SID, 'audio', 1);
    expect(await primary.listItems(SID)).toEqual([]);
    expect((await store.listItems(SID)).map((i) => i.index)).toEqual([2]);
  });

  test('after a fallback, session records go to the primary if it takes them, else to memory', async () => {
    const primary = new FillingStore();
    const store = new FallbackOutboxStore(asForeign(primary));
    primary.full = true;
    await store.putItem(item(0), session(1));
    await store.putSession({ ...session(1), state: 'stopped' });
    expect((await primary.listSessions())[0]?.state).toBe('stopped');
    primary.sessionWritesFail = true;
    await store.putSession({ ...session(5) });
    expect((await store.listSessions())[0]?.nextChunkIndex).toBe(5);
  });

  test('a memory primary is retried, not replaced', async () => {
    let fail = true;
    const primary = new (class extends MemoryOutboxStore {
      override async putItem(i: StoredItem, s: SessionRecord) {
        if (fail) {
          fail = false;
          throw new Error('once');
        }
        return super.putItem(i, s);
      }
    })();
    const errors: Error[] = [];
    const store = new FallbackOutboxStore(primary, (e) => errors.push(e));
    await store.putItem(item(0), session(1));
    expect(errors).toHaveLength(1);
    expect((await primary.listItems(SID)).map((i) => i.index)).toEqual([0]);
  });
});
