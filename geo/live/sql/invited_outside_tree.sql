-- Of the organisations $2, those outside the top-level tree of the organiser $1 (the subtree of
-- the organisation at the top of its chain), with that top organisation's name.
WITH RECURSIVE up(id, parent_id) AS (
    SELECT o.id, o.parent_id FROM organisations o WHERE o.id = $1::bigint
    UNION
    SELECT p.id, p.parent_id FROM organisations p JOIN up ON p.id = up.parent_id
), top AS (
    SELECT o.id, o.name FROM organisations o WHERE o.id = (SELECT up.id FROM up WHERE up.parent_id IS NULL LIMIT 1)
)
SELECT x.id, (SELECT top.name FROM top) AS top
FROM unnest($2::bigint[]) AS x(id)
WHERE x.id NOT IN (SELECT s.id FROM top, org_subtree(top.id) AS s)
ORDER BY x.id
