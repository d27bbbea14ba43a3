-- 006: retention and erasure (issue 12, docs/retention.md).
--
-- Per interview: how long it is kept after its last activity (NULL: the deployment's
-- CANDID_RETENTION_DAYS, which may be off), a legal hold that blocks both retention and erasure,
-- and when an erasure was requested. From that instant the interview and its media sessions
-- answer "not found" to every read, no media session can be opened for it, and its writers are
-- fenced (their lease epochs are bumped in the same transaction); the reaper then deletes the
-- blobs, the rows and finally the interview row itself.
ALTER TABLE interview_sessions
  ADD COLUMN retention_days INTEGER NULL CHECK (retention_days BETWEEN 1 AND 3650),
  ADD COLUMN legal_hold BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN erasure_requested_at TIMESTAMPTZ NULL;

-- The audit record of an erasure, kept after the interview is gone. No personal data: no title,
-- no user id, no session id; the interview's number, who asked (the api key's id: the first 16
-- hex digits of SHA-256 of the key, never the key) or the retention pass, and what was deleted.
-- Work queue like the analysis claims (migration 004): a claim is (claimed_by, attempts) valid
-- until claim_until; an expired claim (a killed reaper) is taken over by the next claim.
CREATE TABLE erasures (
  id                      BIGSERIAL PRIMARY KEY,
  -- No foreign key: the interview row is deleted when the erasure is done.
  interview_session_id    BIGINT NOT NULL UNIQUE,
  reason                  TEXT NOT NULL CHECK (reason IN ('request', 'retention')),
  requested_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
  requested_by_key_id     TEXT NULL CHECK (requested_by_key_id ~ '^[0-9a-f]{16}$'),
  state                   TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done')),
  attempts                INTEGER NOT NULL DEFAULT 0,
  claimed_by              TEXT NULL,
  claim_until             TIMESTAMPTZ NULL,
  media_sessions_deleted  INTEGER NOT NULL DEFAULT 0,
  blobs_deleted           BIGINT NOT NULL DEFAULT 0,
  blob_bytes_deleted      BIGINT NOT NULL DEFAULT 0,
  -- audio_chunks + video_frames + capture_events + media_sessions rows.
  rows_deleted            BIGINT NOT NULL DEFAULT 0,
  started_at              TIMESTAMPTZ NULL,
  finished_at             TIMESTAMPTZ NULL,
  CHECK ((state = 'done') = (finished_at IS NOT NULL))
);

-- The claim scan: only erasures still to do.
CREATE INDEX idx_erasures_todo ON erasures (id) WHERE state <> 'done';
