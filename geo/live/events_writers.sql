-- Transactions (other than ours) that hold a row lock on `events` in this database: those that
-- inserted an event and have not ended yet. An id missing below a delivered one is settled once
-- every such transaction seen at the time has ended (committed: the row is there; rolled back:
-- the id stays a gap). See geo/live/stream.py.
SELECT l.virtualtransaction
FROM pg_locks l
WHERE l.locktype = 'relation'
  AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
  AND l.relation = 'events'::regclass
  AND l.mode = 'RowExclusiveLock'
  AND l.granted
  AND l.pid <> pg_backend_pid()
