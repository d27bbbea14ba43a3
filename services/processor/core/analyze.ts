/**
 * @module processor/analyze
 * One claimed item from blob to result: read the blob (and, for a frame, the frame before it),
 * check its SHA-256 against the row, run the analyzers, and shape the analysis JSON that
 * metadata stores (docs/analysis.md "Results"). Pure orchestration over the ports: every step's
 * duration goes to `onStep` (metrics), every failure is an AnalysisFailure that says whether a
 * retry can help.
 */
import { AppError, toAppError } from "../../shared/errors";
import type { AudioAnalyzer, BlobReader, ClaimedItem, FrameAnalyzer, Transcriber } from "./ports";

export type Step = "fetch" | "decode" | "vad" | "transcribe" | "faces" | "quality";

/** Why an item could not be analysed; `transient`: the item is fine, a dependency is not (retry later). */
export class AnalysisFailure extends Error {
  override readonly name = "AnalysisFailure";
  constructor(
    /** A short fixed code: BLOB_MISSING, BLOB_HASH_MISMATCH, DECODE_FAILED, ANALYZER_FAILED, UPSTREAM_UNAVAILABLE, … */
    readonly code: string,
    message: string,
    readonly transient: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface AnalyzeDeps {
  blobs: BlobReader;
  audio: AudioAnalyzer;
  frames: FrameAnalyzer;
  /** null: transcription is off (no transcriber configured). */
  transcriber: Transcriber | null;
  /** Language passed to the transcriber ("" = detect). */
  language: string;
  /** Below this speech ratio a chunk is not sent to the transcriber (its transcript is ""). */
  minSpeechRatioToTranscribe: number;
  onStep?(kind: ClaimedItem["kind"], step: Step, seconds: number): void;
}

export interface AnalysisResult {
  analysis: Record<string, unknown>;
  /** Audio: the transcript text ("" for no speech), null when transcription is off. Frames: null. */
  transcription: string | null;
}

const round = (x: number, digits = 4) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x);

async function timed<T>(deps: AnalyzeDeps, item: ClaimedItem, step: Step, fn: () => Promise<T>, failCode: string): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AnalysisFailure) throw err;
    const app = err instanceof AppError ? err : null;
    // An upstream that is away or full is not the item's fault.
    if (app && (app.code === "UPSTREAM_UNAVAILABLE" || app.code === "STORAGE_FULL")) throw new AnalysisFailure("UPSTREAM_UNAVAILABLE", `${step}: upstream unavailable`, true, { cause: err });
    throw new AnalysisFailure(failCode, `${step}: ${app ? app.code : ((err as Error)?.message ?? String(err)).slice(0, 200)}`, failCode === "UPSTREAM_UNAVAILABLE", { cause: err });
  } finally {
    deps.onStep?.(item.kind, step, (performance.now() - t0) / 1000);
  }
}

async function fetchBlob(deps: AnalyzeDeps, item: ClaimedItem): Promise<Uint8Array> {
  const got = await timed(deps, item, "fetch", () => deps.blobs.get({ sessionId: item.sessionId, kind: item.kind, index: item.index, mediaType: item.mediaType }), "UPSTREAM_UNAVAILABLE");
  if (!got) throw new AnalysisFailure("BLOB_MISSING", "the storage service has no blob for this row", false);
  if (got.sha256Hex !== item.sha256Hex) throw new AnalysisFailure("BLOB_HASH_MISMATCH", "the stored blob's SHA-256 differs from the row's", false);
  return got.data;
}

export async function analyzeItem(deps: AnalyzeDeps, item: ClaimedItem): Promise<AnalysisResult> {
  return item.kind === "audio" ? analyzeChunk(deps, item) : analyzeFrame(deps, item);
}

async function analyzeChunk(deps: AnalyzeDeps, item: ClaimedItem): Promise<AnalysisResult> {
  const data = await fetchBlob(deps, item);
  const pcm = await timed(deps, item, "decode", () => deps.audio.decode(data, item.mediaType), "DECODE_FAILED");
  const f = await timed(deps, item, "vad", () => deps.audio.features(pcm), "ANALYZER_FAILED");
  const analysis: Record<string, unknown> = {
    duration_ms: Math.round(f.durationMs),
    speech_ratio: round(f.speechRatio),
    speech_segments: f.speechSegments.map(([s, e]) => [Math.round(s), Math.round(e)]),
    rms_dbfs: round(f.rmsDbfs, 2),
    peak_dbfs: round(f.peakDbfs, 2),
    clipped_ratio: round(f.clippedRatio, 6),
    clipping: f.clipping,
  };
  if (!deps.transcriber) return { analysis: { ...analysis, transcribed: false, words: [] }, transcription: null };
  if (f.speechRatio < deps.minSpeechRatioToTranscribe) return { analysis: { ...analysis, transcribed: true, words: [], model: null }, transcription: "" };
  const t = await timed(deps, item, "transcribe", () => deps.transcriber!.transcribe(pcm, deps.language ? { language: deps.language } : {}), "UPSTREAM_UNAVAILABLE");
  return {
    analysis: {
      ...analysis,
      transcribed: true,
      language: t.language,
      model: t.model,
      words: t.words.map((w) => ({ text: w.text, start_ms: Math.round(w.startMs), end_ms: Math.round(w.endMs), probability: round(w.probability, 3) })),
    },
    transcription: t.text,
  };
}

async function analyzeFrame(deps: AnalyzeDeps, item: ClaimedItem): Promise<AnalysisResult> {
  const data = await fetchBlob(deps, item);
  // The frame before it, for "frozen": absent (index 0, or not stored) means no comparison.
  const previous =
    item.index > 0
      ? await timed(deps, item, "fetch", () => deps.blobs.get({ sessionId: item.sessionId, kind: "frame", index: item.index - 1, mediaType: item.mediaType }), "UPSTREAM_UNAVAILABLE")
      : null;
  const found = await timed(deps, item, "faces", () => deps.frames.faces(data), "DECODE_FAILED");
  const q = await timed(deps, item, "quality", () => deps.frames.quality(data, previous?.data), "ANALYZER_FAILED");
  return {
    analysis: {
      width: found.width,
      height: found.height,
      faces: found.faces.map((x) => ({
        box: { x: Math.round(x.box.x), y: Math.round(x.box.y), width: Math.round(x.box.width), height: Math.round(x.box.height) },
        score: round(x.score, 3),
        expression: { dominant: x.expression.dominant, scores: Object.fromEntries(Object.entries(x.expression.scores).map(([k, v]) => [k, round(v, 3)])) },
      })),
      quality: { brightness: round(q.brightness, 3), black: q.black, frozen: q.frozen, change: q.changeFromPrevious === null ? null : round(q.changeFromPrevious, 4) },
    },
    transcription: null,
  };
}

/** Keeps unexpected errors from leaking detail: the code for the row, the cause for the log. */
export function failureOf(err: unknown): AnalysisFailure {
  if (err instanceof AnalysisFailure) return err;
  const app = toAppError(err);
  return new AnalysisFailure(app.code === "UPSTREAM_UNAVAILABLE" ? "UPSTREAM_UNAVAILABLE" : "ANALYZER_FAILED", app.code, app.code === "UPSTREAM_UNAVAILABLE", { cause: err });
}
