-- The build in the table: its token and when it was made (none before the first build).
SELECT token, extract(epoch FROM built_at) FROM org_health_scores ORDER BY built_at DESC LIMIT 1
