-- The statistics cards of the subtree under $1 (the district when NULL).
WITH scope AS (
    SELECT o.id FROM organisations o
    WHERE $1::bigint IS NULL OR o.id IN (SELECT id FROM org_subtree($1::bigint))
)
SELECT
  (SELECT count(*) FROM scope) AS organisations,
  (SELECT count(*) FROM service_points s
    WHERE $1::bigint IS NULL OR s.org_id IN (SELECT id FROM scope)) AS service_points,
  (SELECT count(*) FROM activities a
    WHERE a.organiser_id IN (SELECT id FROM scope)
      AND a.starts_at >= date_trunc('month', now())
      AND a.starts_at < date_trunc('month', now()) + interval '1 month') AS activities_month,
  (SELECT count(*) FROM scope o WHERE NOT EXISTS (
      SELECT 1 FROM activities a WHERE a.organiser_id = o.id
        AND a.starts_at > now() - interval '90 days' AND a.starts_at <= now())) AS inactive_90d
