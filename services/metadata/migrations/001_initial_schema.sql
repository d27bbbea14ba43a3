-- 001: the tables of the specification's "Database Schema" section, plus interview_sessions
-- (the FK target of media_sessions) and the columns Candid needs for idempotent writes (sha256).
-- Applied inside one transaction by the migration runner (adapters/pg-repo.ts): no BEGIN/COMMIT here.

CREATE TABLE interview_sessions (
  id          BIGSERIAL PRIMARY KEY,
  title       TEXT NOT NULL DEFAULT '',
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE media_sessions (
  id                    BIGSERIAL PRIMARY KEY,
  session_id            UUID NOT NULL UNIQUE,
  interview_session_id  BIGINT NULL REFERENCES interview_sessions (id),
  user_id               BIGINT NULL,
  status                TEXT NOT NULL DEFAULT 'active'
                        CHECK (status IN ('active', 'completed', 'abandoned')),
  -- Rows actually stored (incremented on CREATED only), not what the client claims.
  total_chunks          INTEGER NOT NULL DEFAULT 0,
  total_frames          INTEGER NOT NULL DEFAULT 0,
  -- Base location of the session's blobs.
  storage_path          TEXT NOT NULL DEFAULT '',
  started_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
  last_activity         TIMESTAMPTZ NOT NULL DEFAULT now(),
  completed_at          TIMESTAMPTZ NULL
);

CREATE TABLE audio_chunks (
  id                BIGSERIAL PRIMARY KEY,
  media_session_id  BIGINT NOT NULL REFERENCES media_sessions (id) ON DELETE CASCADE,
  -- BIGINT: the wire type is uint32, which does not fit INTEGER.
  chunk_index       BIGINT NOT NULL CHECK (chunk_index >= 0),
  file_path         TEXT NOT NULL,
  file_size         BIGINT NOT NULL CHECK (file_size >= 0),
  mime_type         TEXT NOT NULL,
  start_timestamp   TIMESTAMPTZ NULL,
  end_timestamp     TIMESTAMPTZ NULL,
  duration_ms       BIGINT NULL,
  processed         BOOLEAN NOT NULL DEFAULT false,
  transcription     TEXT NULL,
  -- Lowercase hex SHA-256 of the blob: same index + same hash = IDENTICAL, else CONFLICT.
  sha256            TEXT NOT NULL,
  received_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (media_session_id, chunk_index)
);

CREATE TABLE video_frames (
  id                BIGSERIAL PRIMARY KEY,
  media_session_id  BIGINT NOT NULL REFERENCES media_sessions (id) ON DELETE CASCADE,
  -- Set when the frame's audio chunk row exists; back-filled when the chunk arrives later.
  audio_chunk_id    BIGINT NULL REFERENCES audio_chunks (id) ON DELETE SET NULL,
  frame_index       BIGINT NOT NULL CHECK (frame_index >= 0),
  chunk_index       BIGINT NOT NULL CHECK (chunk_index >= 0),
  file_path         TEXT NOT NULL,
  file_size         BIGINT NOT NULL CHECK (file_size >= 0),
  mime_type         TEXT NOT NULL,
  "timestamp"       TIMESTAMPTZ NULL,
  -- Milliseconds into the audio chunk.
  offset_ms         BIGINT NULL,
  processed         BOOLEAN NOT NULL DEFAULT false,
  analysis          JSONB NULL,
  sha256            TEXT NOT NULL,
  received_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
  created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (media_session_id, frame_index)
);

-- The indexes the specification lists (idx_media_sessions_session_id duplicates the UNIQUE
-- constraint's index; it is kept because the specification names it).
CREATE INDEX idx_media_sessions_session_id ON media_sessions (session_id);
CREATE INDEX idx_audio_chunks_media_session ON audio_chunks (media_session_id);
CREATE INDEX idx_audio_chunks_chunk_index ON audio_chunks (chunk_index);
CREATE INDEX idx_video_frames_media_session ON video_frames (media_session_id);
CREATE INDEX idx_video_frames_audio_chunk ON video_frames (audio_chunk_id);
CREATE INDEX idx_video_frames_timestamp ON video_frames ("timestamp");

-- Candid's own: the reaper's scan, and the chunk -> frames back-fill.
CREATE INDEX idx_media_sessions_active_last_activity ON media_sessions (last_activity) WHERE status = 'active';
CREATE INDEX idx_video_frames_unlinked ON video_frames (media_session_id, chunk_index) WHERE audio_chunk_id IS NULL;
