-- One organisation's score at the end of a month ($4 true: replace the month's snapshot).
INSERT INTO org_health_snapshots (org_id, month, score, status)
VALUES ($1, $2, $3, $5)
ON CONFLICT (org_id, month) DO UPDATE SET score = excluded.score, status = excluded.status
WHERE $4
