-- 003: session ownership across gateway replicas (docs/metadata.md, "Leases").
-- A media session's lease: which gateway instance holds it and under which epoch. Every
-- OpenSession bumps owner_epoch and names its instance; every record carries the epoch its writer
-- holds, and RecordBlobs refuses a record whose epoch is not the session's current one (fencing),
-- in the same transaction that locks the session row, so two writers are never both acked.
-- The heartbeat is per gateway instance (one write per instance per renewal, not one per
-- session): a session is connected while its owner instance's heartbeat is fresh.
ALTER TABLE media_sessions
  ADD COLUMN owner_epoch BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN owner_instance TEXT NULL;

CREATE TABLE gateway_instances (
  instance_id   TEXT PRIMARY KEY,
  heartbeat_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
