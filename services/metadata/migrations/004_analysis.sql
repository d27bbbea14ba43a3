-- 004: analysis (the processor service) and the page's own capture events.
--
-- Work state of each stored chunk and frame, next to the seed's `processed` flag:
--   analysis_attempts      claims taken so far (incremented by each claim)
--   analysis_claimed_by    the worker holding the claim; NULL when unclaimed
--   analysis_not_before    a claim is valid until then; once unclaimed, a retry waits until then
--   analysis_error         the last failure's reason (no payloads)
--   analysis_failed        permanently failed: never claimed again
-- A row is finished exactly once: processed flips to true under the claim that wrote the result,
-- and nothing writes its result afterwards (metadata refuses a result from a lost claim).
ALTER TABLE audio_chunks
  ADD COLUMN analysis JSONB NULL,
  ADD COLUMN analysis_attempts INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN analysis_claimed_by TEXT NULL,
  ADD COLUMN analysis_not_before TIMESTAMPTZ NULL,
  ADD COLUMN analysis_error TEXT NULL,
  ADD COLUMN analysis_failed BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN analyzed_at TIMESTAMPTZ NULL;

ALTER TABLE video_frames
  ADD COLUMN analysis_attempts INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN analysis_claimed_by TEXT NULL,
  ADD COLUMN analysis_not_before TIMESTAMPTZ NULL,
  ADD COLUMN analysis_error TEXT NULL,
  ADD COLUMN analysis_failed BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN analyzed_at TIMESTAMPTZ NULL;

-- The claim scan: only rows still to do, oldest first.
CREATE INDEX idx_audio_chunks_analysis_todo ON audio_chunks (id) WHERE NOT processed AND NOT analysis_failed;
CREATE INDEX idx_video_frames_analysis_todo ON video_frames (id) WHERE NOT processed AND NOT analysis_failed;

-- What the candidate's page noticed about its capture (wire message capture_event).
CREATE TABLE capture_events (
  id                BIGSERIAL PRIMARY KEY,
  media_session_id  BIGINT NOT NULL REFERENCES media_sessions (id) ON DELETE CASCADE,
  event_index       BIGINT NOT NULL CHECK (event_index >= 0),
  kind              TEXT NOT NULL,
  phase             TEXT NOT NULL CHECK (phase IN ('began', 'ended')),
  "at"              TIMESTAMPTZ NOT NULL,
  detail            JSONB NULL,
  received_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (media_session_id, event_index)
);
