-- The primary's WAL position once everything committed so far is flushed (a replica that has
-- replayed up to it holds every earlier commit); run after a commit it must cover.
SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::bigint
