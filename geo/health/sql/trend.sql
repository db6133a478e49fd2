-- One organisation's monthly snapshots from $2 on.
SELECT month, score, status FROM org_health_snapshots
WHERE org_id = $1 AND month >= $2 ORDER BY month
