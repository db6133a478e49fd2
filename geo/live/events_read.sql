-- Stored events with the organisation chain above each event's organisation (the event's own
-- organisation first, then its parents up to the root): a viewer bound to a subtree sees an
-- event when its root is in the chain (geo/live/viewers.py). An event about an activity (subject
-- activities/<id>) also carries the organisations the activity is open to ({open_to}:
-- geo.scope.open_to over `a`, its organiser and the ones it invites), or, the activity gone, the
-- event's organisation: a member sees it when they may attend. A check-in's event also carries
-- `reach`, the organisations the activity invites (open_to after its first element, the
-- organiser) and every one above them: a leader bound to an invited organisation (or above one)
-- is told the activity's count (geo/live/viewers.py). {cond} picks the rows.
SELECT e.id, e.at, e.type, e.subject, e.org_id, e.audience, e.data::text AS data,
       CASE WHEN e.org_id IS NULL THEN NULL ELSE ARRAY(
           WITH RECURSIVE up(id, parent_id) AS (
               SELECT o.id, o.parent_id FROM organisations o WHERE o.id = e.org_id
               UNION
               SELECT p.id, p.parent_id FROM organisations p JOIN up ON p.id = up.parent_id
           )
           SELECT up.id FROM up
       ) END AS chain,
       x.open_to,
       CASE WHEN e.type = 'checkin.created' AND cardinality(x.open_to) > 1 THEN ARRAY(
           WITH RECURSIVE up(id, parent_id) AS (
               SELECT o.id, o.parent_id FROM organisations o WHERE o.id = ANY(x.open_to[2:])
               UNION
               SELECT p.id, p.parent_id FROM organisations p JOIN up ON p.id = up.parent_id
           )
           SELECT up.id FROM up
       ) END AS reach
FROM events e
CROSS JOIN LATERAL (
    SELECT CASE WHEN e.subject ~ '^activities/[0-9]{{1,18}}$' THEN coalesce(
        (SELECT {open_to} FROM activities a WHERE a.id = substr(e.subject, 12)::bigint),
        ARRAY[e.org_id]::bigint[]
    ) END AS open_to
) x
WHERE {cond}
ORDER BY e.id
LIMIT {limit}
