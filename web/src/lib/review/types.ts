/**
 * @module review/types
 * The gateway's review answers as the web app reads them (docs/protocol.md, issue 12's contract).
 * Times named `*_ms` on a timeline are milliseconds on the stitched track of one media session,
 * whose zero is the first chunk's start; ISO strings are wall-clock times.
 */

export interface InterviewSummary {
  interview_session_id: number;
  title: string;
  created_at: string;
  media_sessions: number;
  last_activity: string | null;
}

export interface InterviewList {
  interview_sessions: InterviewSummary[];
}

export interface MediaSessionSummary {
  session_id: string;
  user_id: number | null;
  status: string;
  started_at: string | null;
  last_activity: string | null;
  total_chunks: number;
  total_frames: number;
  duration_ms: number;
  sealed: boolean;
  manifest_sha256: string | null;
}

export interface InterviewDetail {
  interview_session_id: number;
  title: string;
  created_at: string;
  /** absent where the gateway has no retention support */
  legal_hold?: boolean;
  retention_days?: number | null;
  media_sessions: MediaSessionSummary[];
}

export interface TimelineChunk {
  chunk_index: number;
  start_ms: number;
  end_ms: number;
}

export interface TimelineGap {
  start_ms: number;
  end_ms: number;
  missing_chunks: number[];
}

export interface TimelineFrame {
  frame_index: number;
  /** null: the frame has no timestamp (or the session no chunk to place it against) */
  at_ms: number | null;
  chunk_index: number;
  offset_ms: number;
}

/** GET /sessions/{sid}/timeline: where each chunk, gap and frame lands on the stitched track. */
export interface Timeline {
  session_id: string;
  /** null: no chunk stored */
  origin: string | null;
  duration_ms: number;
  chunks: TimelineChunk[];
  gaps: TimelineGap[];
  frames: TimelineFrame[];
}

/** POST /sessions/{sid}/verify. */
export interface VerifyResult {
  ok: boolean;
  sealed?: boolean;
  /** false: the stored manifest is not the one sealed (its hash or its chain differ) */
  manifest_intact?: boolean;
  chunks: number;
  frames: number;
  missing_chunks: number[];
  missing_frames: number[];
  /** kind "audio" (a chunk) or "frame" */
  mismatched: Array<{ kind: string; index: number }>;
}

export interface AnalysisWord {
  text: string;
  start_ms: number | null;
  end_ms: number | null;
  probability?: number;
}

/** One chunk of GET /sessions/{sid}/analysis; times on the analysis clock (untrimmed chunks). */
export interface AnalysisChunk {
  chunk_index: number;
  processed: boolean;
  failed: boolean;
  error?: string;
  start_ms: number | null;
  end_ms: number | null;
  window_ms: [number | null, number | null];
  transcription: string | null;
  analysis: {
    speech_segments: Array<[number | null, number | null]>;
    transcribed: boolean;
    words: AnalysisWord[];
    speech_ratio?: number | null;
    rms_dbfs?: number | null;
  } | null;
}

export interface AnalysisFrame {
  frame_index: number;
  processed: boolean;
  failed: boolean;
  chunk_index: number;
  offset_ms: number;
  at_ms: number | null;
  analysis: {
    width: number | null;
    height: number | null;
    faces: unknown[];
    quality: { brightness?: number; black?: boolean; frozen?: boolean | null; change?: number | null } | null;
  } | null;
}

export interface CaptureEvent {
  event_index: number;
  kind: string;
  phase: string;
  at: string | null;
  at_ms: number | null;
}

export interface AnalysisSummary {
  chunks: { total: number; processed: number; failed: number; pending: number };
  frames: { total: number; processed: number; failed: number; pending: number; without_face: number; black: number; frozen: number };
  talk_time_ms: number;
  longest_silence_ms: number;
  analysed_ms: number;
  capture_problems: Record<string, number>;
}

export interface Analysis {
  session_id: string;
  timeline_start: string | null;
  chunks: AnalysisChunk[];
  frames: AnalysisFrame[];
  capture_events: CaptureEvent[];
  summary: AnalysisSummary;
  next: { chunks_after: number; frames_after: number; limit: number } | null;
}
