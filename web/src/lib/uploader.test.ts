import { describe, expect, test } from 'bun:test';
import type { OutboxCounts } from './outbox.ts';
import { advanceRecord, lockName, newSessionRecord, orphanPlan, storageKey, uploadCounts } from './uploader.ts';

const SID = '4f7d2c1e-8a3b-4c5d-9e6f-0a1b2c3d4e5f';
const DAY_MS = 24 * 3600_000;

const counts = (waitingAudio: number, waitingFrame: number, inflightBytes = 0): OutboxCounts => ({
  waiting: { audio: waitingAudio, frame: waitingFrame },
  inflight: 0,
  inflightBytes,
  acked: { audio: 0, frame: 0 },
  failed: { audio: 0, frame: 0 },
});

describe('session record', () => {
  test('a new session starts at index 0, recording', () => {
    expect(newSessionRecord(SID, 12, undefined, 5)).toEqual({
      sessionId: SID,
      interviewSessionId: 12,
      userId: undefined,
      nextChunkIndex: 0,
      nextFrameIndex: 0,
      failedChunks: 0,
      failedFrames: 0,
      state: 'recording',
      updatedAt: 5,
    });
  });

  test('advanceRecord counts past the stored item and never goes back', () => {
    const r = newSessionRecord(SID, 1, 2, 0);
    const a = advanceRecord(r, 'audio', 3, 10);
    expect(a).toMatchObject({ nextChunkIndex: 4, nextFrameIndex: 0, updatedAt: 10 });
    expect(advanceRecord(a, 'audio', 1, 11).nextChunkIndex).toBe(4);
    expect(advanceRecord(a, 'frame', 0, 12)).toMatchObject({ nextChunkIndex: 4, nextFrameIndex: 1 });
    expect(r.nextChunkIndex).toBe(0); // a copy: the caller keeps the old one until the write succeeds
  });
});

describe('uploadCounts', () => {
  test('acked = recorded − waiting − failed', () => {
    const r = { ...newSessionRecord(SID, 1, undefined, 0), nextChunkIndex: 5, nextFrameIndex: 20, failedChunks: 1, failedFrames: 2 };
    expect(uploadCounts(r, counts(2, 3, 777))).toEqual({
      chunksRecorded: 5,
      framesRecorded: 20,
      chunksWaiting: 2,
      framesWaiting: 3,
      chunksFailed: 1,
      framesFailed: 2,
      chunksAcked: 2,
      framesAcked: 15,
      inflightBytes: 777,
    });
  });

  test('never negative (resumed items not yet counted as recorded)', () => {
    const r = newSessionRecord(SID, 1, undefined, 0);
    expect(uploadCounts(r, counts(2, 1))).toMatchObject({ chunksAcked: 0, framesAcked: 0 });
  });
});

describe('orphanPlan', () => {
  const now = 10 * DAY_MS;
  test('a stopped orphan is completed, with or without items left', () => {
    expect(orphanPlan({ state: 'stopped', updatedAt: 0 }, 3, now)).toBe('finish');
    expect(orphanPlan({ state: 'stopped', updatedAt: 0 }, 0, now)).toBe('finish');
  });

  test('a recording orphan uploads what it holds', () => {
    expect(orphanPlan({ state: 'recording', updatedAt: now }, 1, now)).toBe('upload');
  });

  test('an empty recording orphan keeps its counters for a resume, for a day', () => {
    expect(orphanPlan({ state: 'recording', updatedAt: now - DAY_MS }, 0, now)).toBe('keep');
    expect(orphanPlan({ state: 'recording', updatedAt: now - DAY_MS - 1 }, 0, now)).toBe('forget');
  });
});

test('localStorage key per interview and lock name per session', () => {
  expect(storageKey(42)).toBe('candid:capture-session:42');
  expect(lockName(SID)).toBe(`candid-capture-${SID}`);
});
