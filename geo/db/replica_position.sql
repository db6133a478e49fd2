-- Where a streaming replica is: still a standby, the WAL it has replayed (bytes from 0/0),
-- whether replay is paused, and its data_versions rows (the read-your-writes check).
SELECT pg_is_in_recovery() AS standby,
       coalesce((pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint, 0) AS replayed,
       CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END AS paused,
       array(SELECT table_name::text FROM data_versions ORDER BY table_name) AS tables,
       array(SELECT version FROM data_versions ORDER BY table_name) AS versions
