-- Synthetic registrations, one array per column (a rerun adds nothing twice).
INSERT INTO registrations (activity_id, member_id, status, created_at, updated_at)
SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::timestamptz[], %s::timestamptz[])
ON CONFLICT ON CONSTRAINT registrations_once DO NOTHING
