-- Organisations of the subtree under $1 (all when NULL), with their last activity.
SELECT o.id, o.code, o.name, o.type, o.parent_id,
       ST_X(o.geom) AS lon, ST_Y(o.geom) AS lat,
       (SELECT max(a.starts_at) FROM activities a
         WHERE a.organiser_id = o.id AND a.starts_at <= now()) AS last_activity
FROM organisations o
WHERE $1::bigint IS NULL OR o.id IN (SELECT id FROM org_subtree($1::bigint))
ORDER BY o.parent_id NULLS FIRST, o.code
