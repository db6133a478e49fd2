-- The branches (党支部) among the ids $1 with their stored health, best first.
SELECT o.id AS org_id, o.code, o.name, h.score, h.status
FROM organisations o JOIN org_health_scores h ON h.org_id = o.id
WHERE o.id = ANY($1::bigint[]) AND o.type = '党支部'
ORDER BY h.score DESC, o.code
