-- 002: every RecordBlobs batch updates its sessions' totals and last_activity. While an index
-- held last_activity, each of those updates wrote a new entry into every index of media_sessions
-- and left a dead row version behind that lookups by session_id stepped over until autovacuum
-- came (thousands per busy session per minute). Without it the update is HOT: same page, no index
-- writes, dead versions pruned in place. The reaper finds active sessions through a partial index
-- on id instead (status does not change on those updates, so it does not block HOT).
DROP INDEX idx_media_sessions_active_last_activity;
CREATE INDEX idx_media_sessions_active ON media_sessions (id) WHERE status = 'active';
-- Room on each page for the next row versions of a session, so updates stay on their page.
ALTER TABLE media_sessions SET (fillfactor = 50);
