-- Stored events with the organisation chain above each event's organisation (the event's own
-- organisation first, then its parents up to the root): a viewer bound to a subtree sees an
-- event when its root is in the chain (geo/live/viewers.py). {cond} picks the rows.
SELECT e.id, e.at, e.type, e.subject, e.org_id, e.audience, e.data::text AS data,
       CASE WHEN e.org_id IS NULL THEN NULL ELSE ARRAY(
           WITH RECURSIVE up(id, parent_id) AS (
               SELECT o.id, o.parent_id FROM organisations o WHERE o.id = e.org_id
               UNION
               SELECT p.id, p.parent_id FROM organisations p JOIN up ON p.id = up.parent_id
           )
           SELECT up.id FROM up
       ) END AS chain
FROM events e
WHERE {cond}
ORDER BY e.id
LIMIT {limit}
