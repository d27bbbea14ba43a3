import { describe, expect, test } from "bun:test";
import { AppError } from "../../shared/errors";
import { AnalysisFailure, type AnalyzeDeps } from "./analyze";
import type { AudioAnalyzer, BlobReader, ClaimedItem, FrameAnalyzer, ItemKind, WorkQueue } from "./ports";
import { retryDelayMs, WorkLoop, type WorkLoopOptions } from "./work-loop";

const SHA = "a".repeat(64);
const item = (kind: ItemKind, index: number, attempt = 1): ClaimedItem => ({
  kind,
  rowId: index + (kind === "audio" ? 1 : 1000),
  attempt,
  sessionId: "s",
  index,
  mediaType: kind === "audio" ? "audio/webm" : "image/jpeg",
  sha256Hex: SHA,
  fileSize: 3,
  startMs: 0,
  endMs: 0,
  chunkIndex: 0,
  offsetMs: 0,
  timestampMs: 0,
});

/** An in-memory queue (a fake for this pure unit test; the real one is tested in test/integration/analysis-grpc.test.ts). */
class FakeQueue implements WorkQueue {
  todo: ClaimedItem[] = [];
  completed: Array<{ item: ClaimedItem; json: string; transcription: string | null }> = [];
  failed: Array<{ item: ClaimedItem; reason: string; retryAfterMs: number; maxAttempts: number }> = [];
  completeError: AppError | null = null;
  async claim(_kinds: readonly ItemKind[], limit: number) {
    return this.todo.splice(0, limit);
  }
  async complete(i: ClaimedItem, json: string, transcription: string | null) {
    if (this.completeError) throw this.completeError;
    this.completed.push({ item: i, json, transcription });
  }
  async fail(i: ClaimedItem, f: { reason: string; retryAfterMs: number; maxAttempts: number }) {
    this.failed.push({ item: i, ...f });
    return i.attempt >= f.maxAttempts;
  }
}

const blobs = (missing = new Set<number>(), sha = SHA): BlobReader => ({
  get: async (ref) => (missing.has(ref.index) ? null : { data: new Uint8Array([1, 2, 3]), sha256Hex: sha }),
});
const audio = (over: Partial<AudioAnalyzer> = {}): AudioAnalyzer => ({
  decode: async () => ({ samples: new Float32Array(16_000), sampleRate: 16_000 }),
  features: async () => ({ durationMs: 1000, speechRatio: 0.5, speechSegments: [[100, 600]], rmsDbfs: -20.123, peakDbfs: -3, clippedRatio: 0, clipping: false }),
  ...over,
});
const frames: FrameAnalyzer = {
  faces: async () => ({ width: 640, height: 480, faces: [{ box: { x: 1.2, y: 2, width: 30, height: 40 }, score: 0.91234, expression: { dominant: "neutral", scores: { neutral: 0.9, happy: 0.1 } } }] }),
  quality: async (_j, prev) => ({ brightness: 0.5, black: false, frozen: prev ? false : null, changeFromPrevious: prev ? 0.2 : null }),
};

function loop(queue: FakeQueue, deps: Partial<AnalyzeDeps> = {}, o: Partial<WorkLoopOptions> = {}) {
  return new WorkLoop({
    queue,
    analyze: { blobs: blobs(), audio: audio(), frames, transcriber: null, language: "en", minSpeechRatioToTranscribe: 0.02, ...deps },
    kinds: ["audio", "frame"],
    concurrency: 2,
    claimBatch: 3,
    pollMs: 5,
    maxAttempts: 3,
    maxTransientAttempts: 10,
    retryBaseMs: 1000,
    retryMaxMs: 8000,
    ...o,
  });
}

describe("one item", () => {
  test("audio without a transcriber: features stored, transcription null", async () => {
    const q = new FakeQueue();
    expect(await loop(q).process(item("audio", 0))).toBe("done");
    expect(q.completed[0]!.transcription).toBeNull();
    expect(JSON.parse(q.completed[0]!.json)).toEqual({ duration_ms: 1000, speech_ratio: 0.5, speech_segments: [[100, 600]], rms_dbfs: -20.12, peak_dbfs: -3, clipped_ratio: 0, clipping: false, transcribed: false, words: [] });
  });

  test("audio with a transcriber: words and text; silence is not sent to it", async () => {
    const q = new FakeQueue();
    let calls = 0;
    const transcriber = {
      transcribe: async () => {
        calls++;
        return { text: "hello there", words: [{ text: "hello", startMs: 100.4, endMs: 300, probability: 0.98765 }], language: "en", model: "tiny.en" };
      },
      close() {},
    };
    await loop(q, { transcriber }).process(item("audio", 0));
    expect(q.completed[0]!.transcription).toBe("hello there");
    expect(JSON.parse(q.completed[0]!.json).words).toEqual([{ text: "hello", start_ms: 100, end_ms: 300, probability: 0.988 }]);
    const silent = audio({ features: async () => ({ durationMs: 1000, speechRatio: 0, speechSegments: [], rmsDbfs: -100, peakDbfs: -100, clippedRatio: 0, clipping: false }) });
    await loop(q, { transcriber, audio: silent }).process(item("audio", 1));
    expect(calls).toBe(1);
    expect(q.completed[1]!.transcription).toBe("");
  });

  test("a frame: faces and quality, compared with the frame before it", async () => {
    const q = new FakeQueue();
    await loop(q).process(item("frame", 0));
    await loop(q).process(item("frame", 1));
    const [a, b] = q.completed.map((c) => JSON.parse(c.json));
    expect(a.faces).toEqual([{ box: { x: 1, y: 2, width: 30, height: 40 }, score: 0.912, expression: { dominant: "neutral", scores: { neutral: 0.9, happy: 0.1 } } }]);
    expect(a.quality).toEqual({ brightness: 0.5, black: false, frozen: null, change: null });
    expect(b.quality).toEqual({ brightness: 0.5, black: false, frozen: false, change: 0.2 });
  });

  test("a missing blob or a hash mismatch fails the item by itself (max_attempts), with its code", async () => {
    const q = new FakeQueue();
    expect(await loop(q, { blobs: blobs(new Set([0])) }).process(item("audio", 0, 3))).toBe("failed");
    expect(q.failed[0]).toMatchObject({ reason: "BLOB_MISSING: the storage service has no blob for this row", maxAttempts: 3, retryAfterMs: 4000 });
    await loop(q, { blobs: blobs(new Set(), "b".repeat(64)) }).process(item("audio", 1));
    expect(q.failed[1]!.reason).toStartWith("BLOB_HASH_MISMATCH");
  });

  test("an undecodable chunk is DECODE_FAILED; an upstream away is transient (the larger limit)", async () => {
    const q = new FakeQueue();
    await loop(q, { audio: audio({ decode: async () => Promise.reject(new Error("not an EBML file")) }) }).process(item("audio", 0));
    expect(q.failed[0]).toMatchObject({ reason: "DECODE_FAILED: decode: not an EBML file", maxAttempts: 3 });
    const away: BlobReader = { get: async () => Promise.reject(new AppError("UPSTREAM_UNAVAILABLE")) };
    expect(await loop(q, { blobs: away }).process(item("audio", 1, 2))).toBe("retried");
    expect(q.failed[1]).toMatchObject({ reason: "UPSTREAM_UNAVAILABLE: fetch: upstream unavailable", maxAttempts: 10, retryAfterMs: 2000 });
    const transcriber = { transcribe: async () => Promise.reject(new AnalysisFailure("UPSTREAM_UNAVAILABLE", "transcriber down", true)), close() {} };
    await loop(q, { transcriber }).process(item("audio", 2));
    expect(q.failed[2]!.maxAttempts).toBe(10);
  });

  test("a result refused because the claim was lost is dropped, not retried", async () => {
    const q = new FakeQueue();
    q.completeError = new AppError("ANALYSIS_CLAIM_LOST");
    expect(await loop(q).process(item("audio", 0))).toBe("claim_lost");
    expect(q.failed).toEqual([]);
  });
});

describe("the loop", () => {
  test("analyses everything claimable with bounded concurrency, then stop() returns", async () => {
    const q = new FakeQueue();
    q.todo = [...Array(7).keys()].map((i) => item("audio", i)).concat([...Array(5).keys()].map((i) => item("frame", i)));
    let busy = 0;
    let peak = 0;
    const slow = audio({
      decode: async () => {
        peak = Math.max(peak, ++busy);
        await Bun.sleep(5);
        busy--;
        return { samples: new Float32Array(1), sampleRate: 16_000 };
      },
    });
    const l = loop(q, { audio: slow });
    l.start();
    while (q.completed.length < 12) await Bun.sleep(5);
    await l.stop();
    expect(peak).toBeLessThanOrEqual(2);
    expect(new Set(q.completed.map((c) => `${c.item.kind}${c.item.index}`)).size).toBe(12);
  });

  test("stop() gives back claims it has not started", async () => {
    const q = new FakeQueue();
    q.todo = [item("audio", 0), item("audio", 1), item("audio", 2)];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = 0;
    const l = loop(q, { audio: audio({ decode: async () => (started++, await gate, { samples: new Float32Array(1), sampleRate: 16_000 }) }) }, { concurrency: 1 });
    l.start();
    while (!started) await Bun.sleep(1);
    const stopped = l.stop();
    release();
    await stopped;
    expect(q.completed.length).toBe(1);
    expect(q.failed.map((f) => [f.item.index, f.retryAfterMs])).toEqual([
      [1, 0],
      [2, 0],
    ]);
  });

  test("retry delays double and are capped", () => {
    expect([1, 2, 3, 4, 5, 60].map((a) => retryDelayMs(a, 1000, 8000))).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
  });
});
