-- 005: the review side (issue 12). A completed session is sealed: its manifest (every chunk and
-- frame with size, SHA-256 and timestamps, the missing indices and a hash chain over them) is
-- stored beside the media (<session>/manifest.json) and its SHA-256 here, so a manifest changed in
-- storage no longer matches what the database says it was.
ALTER TABLE media_sessions
  ADD COLUMN manifest_sha256 TEXT NULL CHECK (manifest_sha256 ~ '^[0-9a-f]{64}$'),
  ADD COLUMN sealed_at TIMESTAMPTZ NULL;

-- The review list: an interview's media sessions.
CREATE INDEX IF NOT EXISTS idx_media_sessions_interview ON media_sessions (interview_session_id);
