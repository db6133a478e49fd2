-- Organisations in the subtree of $1 (NULL: the whole district).
SELECT o.id FROM organisations o
WHERE $1::bigint IS NULL OR o.id IN (SELECT s.id FROM org_subtree($1::bigint) AS s)
