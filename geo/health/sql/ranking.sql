-- The children ($2 false) or every branch of the subtree ($2 true) of $1 with their scores.
SELECT o.id, o.code, o.name, o.type, h.score, h.status
FROM organisations o LEFT JOIN org_health_scores h ON h.org_id = o.id
WHERE CASE WHEN $2 THEN o.type = '党支部' AND o.id <> $1
           AND o.id IN (SELECT s.id FROM org_subtree($1::bigint) AS s)
      ELSE o.parent_id = $1 END
ORDER BY h.score DESC NULLS LAST, o.code
