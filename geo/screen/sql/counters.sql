-- Counters of the subtree ids $1 for the Beijing day $2 and the month from $3: scheduled
-- activities starting that day, check-ins that day, distinct members checked in this month.
WITH acts AS (SELECT a.id, a.starts_at, a.status FROM activities a WHERE a.organiser_id = ANY($1::bigint[]))
SELECT
  (SELECT count(*) FROM acts WHERE acts.status = 'scheduled'
     AND (acts.starts_at AT TIME ZONE 'Asia/Shanghai')::date = $2) AS activities_today,
  (SELECT count(*) FROM checkins c JOIN acts ON acts.id = c.activity_id
     WHERE (c.checked_at AT TIME ZONE 'Asia/Shanghai')::date = $2) AS checkins_today,
  (SELECT count(DISTINCT c.member_id) FROM checkins c JOIN acts ON acts.id = c.activity_id
     WHERE (c.checked_at AT TIME ZONE 'Asia/Shanghai')::date >= $3) AS members_reached
