-- Months from $1 on that have snapshots already.
SELECT DISTINCT month FROM org_health_snapshots WHERE month >= $1
