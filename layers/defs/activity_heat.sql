SELECT c.id, c.member_id, c.checked_at, a.geom FROM checkins c JOIN activities a ON a.id = c.activity_id
