-- Meetings held up to $1 (a Beijing date): the records, and activities of a meeting kind
-- ($2 activity kinds → $3 meeting kinds) that were not cancelled and have check-ins, on their
-- Beijing start date. An activity recorded as a meeting too counts once.
SELECT m.org_id, m.kind, m.held_on
FROM meetings m
WHERE m.held_on <= $1
UNION
SELECT a.organiser_id, k.meeting_kind, (a.starts_at AT TIME ZONE 'Asia/Shanghai')::date
FROM activities a
JOIN unnest($2::text[], $3::text[]) AS k(activity_kind, meeting_kind) ON k.activity_kind = a.kind
WHERE a.status = 'scheduled'
  AND (a.starts_at AT TIME ZONE 'Asia/Shanghai')::date <= $1
  AND EXISTS (SELECT 1 FROM checkins c WHERE c.activity_id = a.id)
ORDER BY 1, 2, 3
