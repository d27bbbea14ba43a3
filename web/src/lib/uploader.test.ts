import { describe, expect, test } from 'bun:test';
import type { OutboxCounts } from './outbox.ts';
import { advanceRecord, lockName, newSessionRecord, orphanPlan, refusalText, storageKey, tokenUnusable, uploadCounts } from './uploader.ts';

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

  test('the upload token is kept with the session', () => {
    expect(newSessionRecord(SID, 12, 1, 5, { token: 'tok', tokenExpiresAt: '2030-01-01T00:00:00Z' })).toMatchObject({
      interviewSessionId: 12,
      userId: 1,
      token: 'tok',
      tokenExpiresAt: '2030-01-01T00:00:00Z',
    });
    expect('token' in newSessionRecord(SID, 12, 1, 5)).toBe(false);
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
  const token = { token: 'tok', tokenExpiresAt: new Date(now + 3600_000).toISOString() };
  test('a stopped orphan is completed, with or without items left', () => {
    expect(orphanPlan({ state: 'stopped', updatedAt: 0, ...token }, 3, now)).toBe('finish');
    expect(orphanPlan({ state: 'stopped', updatedAt: 0, ...token }, 0, now)).toBe('finish');
  });

  test('a recording orphan uploads what it holds', () => {
    expect(orphanPlan({ state: 'recording', updatedAt: now, ...token }, 1, now)).toBe('upload');
  });

  test('an empty recording orphan keeps its counters for a resume, for a day', () => {
    expect(orphanPlan({ state: 'recording', updatedAt: now - DAY_MS }, 0, now)).toBe('keep');
    expect(orphanPlan({ state: 'recording', updatedAt: now - DAY_MS - 1 }, 0, now)).toBe('forget');
  });

  test('an orphan that needs the gateway but has no usable token is dropped, not retried', () => {
    const expired = { token: 'tok', tokenExpiresAt: new Date(now - 61_000).toISOString() };
    expect(orphanPlan({ state: 'recording', updatedAt: now, ...expired }, 2, now)).toBe('drop');
    expect(orphanPlan({ state: 'stopped', updatedAt: now, ...expired }, 0, now)).toBe('drop');
    expect(orphanPlan({ state: 'recording', updatedAt: now }, 2, now)).toBe('drop'); // stored before tokens
    // within the clock-skew grace it is still tried (the gateway decides)
    expect(orphanPlan({ state: 'recording', updatedAt: now, token: 'tok', tokenExpiresAt: new Date(now - 30_000).toISOString() }, 2, now)).toBe('upload');
  });
});

describe('tokens', () => {
  test('tokenUnusable: missing, or past expiry plus a minute', () => {
    expect(tokenUnusable({}, 0)).toBe(true);
    expect(tokenUnusable({ token: 't' }, 0)).toBe(false); // no expiry known: the gateway decides
    expect(tokenUnusable({ token: 't', tokenExpiresAt: '1970-01-01T00:00:10Z' }, 70_000)).toBe(false);
    expect(tokenUnusable({ token: 't', tokenExpiresAt: '1970-01-01T00:00:10Z' }, 70_001)).toBe(true);
  });

  test('refusals have a plain message', () => {
    expect(refusalText('TOKEN_INVALID')).toContain('no longer valid');
    expect(refusalText('FORBIDDEN')).toContain('does not cover');
    expect(refusalText('TOO_MANY_SESSIONS')).toContain('TOO_MANY_SESSIONS');
  });
});

test('localStorage key per interview and lock name per session', () => {
  expect(storageKey(42)).toBe('candid:capture-session:42');
  expect(lockName(SID)).toBe(`candid-capture-${SID}`);
});
