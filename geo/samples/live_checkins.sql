-- Synthetic check-ins, one array per column (a rerun adds nothing twice).
INSERT INTO checkins (activity_id, member_id, checked_at, distance_m, method)
SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], %s::float8[], %s::text[])
ON CONFLICT ON CONSTRAINT checkins_once DO NOTHING
