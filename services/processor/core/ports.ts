/**
 * @module processor/ports
 * What the processor core needs from the outside world. The work loop (work-loop.ts) claims
 * stored chunks and frames through the metadata service, reads their blobs from the storage
 * service, runs the analyzers below and writes the results back through metadata.
 *
 * Times are milliseconds. PCM is mono Float32 in [-1, 1].
 */

export type { Pcm } from "../../shared/media/audio-decode";
import type { Pcm } from "../../shared/media/audio-decode";

/** A recognised word; times are ms from the start of the PCM that was transcribed. */
export interface TranscribedWord {
  text: string;
  startMs: number;
  endMs: number;
  /** 0..1 */
  probability: number;
}

export interface Transcript {
  text: string;
  words: TranscribedWord[];
  language: string;
  /** e.g. "faster-whisper tiny.en int8" or the hosted API's model name */
  model: string;
}

/**
 * Speech to text. Adapters: the gRPC TranscriberService (services/transcriber, Python) and an
 * OpenAI-compatible `/v1/audio/transcriptions` HTTP API. Throws on failure (the work loop retries).
 */
export interface Transcriber {
  transcribe(pcm: Pcm, opts?: { language?: string }): Promise<Transcript>;
  close(): void;
}

/** Per audio chunk: level and voice activity, computed from its PCM. */
export interface AudioFeatures {
  durationMs: number;
  /** Share of the chunk's duration the voice-activity model calls speech, 0..1 */
  speechRatio: number;
  /** Speech runs, ms from the chunk's start (merged, ascending). */
  speechSegments: Array<[startMs: number, endMs: number]>;
  /** RMS level of the whole chunk in dBFS (-Infinity is reported as the floor, e.g. -100). */
  rmsDbfs: number;
  peakDbfs: number;
  /** Share of samples at or above the clipping level, 0..1, and whether it crosses the threshold. */
  clippedRatio: number;
  clipping: boolean;
}

export interface AudioAnalyzer {
  /** Decodes one stored chunk file (audio/webm Opus) to mono PCM at `sampleRate` (16000 by default). */
  decode(data: Uint8Array, mediaType: string, sampleRate?: number): Promise<Pcm>;
  features(pcm: Pcm): Promise<AudioFeatures>;
}

/** A face box in the frame's pixels. */
export interface FaceBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface FaceFinding {
  box: FaceBox;
  /** Detector confidence, 0..1 */
  score: number;
  expression: { dominant: string; scores: Record<string, number> };
}

export interface FrameQuality {
  /** Mean luma, 0..1 */
  brightness: number;
  black: boolean;
  /** Whether the picture did not change from the previous frame; null when there is none. */
  frozen: boolean | null;
  /** Mean absolute luma difference to the previous frame, 0..1; null when there is none. */
  changeFromPrevious: number | null;
}

export interface FrameAnalyzer {
  /** Width and height of the decoded JPEG, and the faces found in it. */
  faces(jpeg: Uint8Array): Promise<{ width: number; height: number; faces: FaceFinding[] }>;
  quality(jpeg: Uint8Array, previousJpeg?: Uint8Array): Promise<FrameQuality>;
}

export type ItemKind = "audio" | "frame";

/** A claimed chunk or frame (media.v1 AnalysisWorkItem). Times in epoch ms; 0 = unset. */
export interface ClaimedItem {
  kind: ItemKind;
  rowId: number;
  attempt: number;
  sessionId: string;
  index: number;
  mediaType: string;
  sha256Hex: string;
  fileSize: number;
  /** audio: the chunk's recorded start/end; frame: its chunk, offset and timestamp */
  startMs: number;
  endMs: number;
  chunkIndex: number;
  offsetMs: number;
  timestampMs: number;
}

/** The metadata service's AnalysisService. Errors are AppErrors (ANALYSIS_CLAIM_LOST, UPSTREAM_UNAVAILABLE, …). */
export interface WorkQueue {
  claim(kinds: readonly ItemKind[], limit: number): Promise<ClaimedItem[]>;
  complete(item: ClaimedItem, analysisJson: string, transcription: string | null): Promise<void>;
  /** True when the item is failed for good now. */
  fail(item: ClaimedItem, f: { reason: string; permanent: boolean; retryAfterMs: number; maxAttempts: number }): Promise<boolean>;
}

/** The storage service's GetBlob: the bytes and their SHA-256 as stored; null when there is no such blob. */
export interface BlobReader {
  get(ref: { sessionId: string; kind: ItemKind; index: number; mediaType: string }): Promise<{ data: Uint8Array; sha256Hex: string } | null>;
}
