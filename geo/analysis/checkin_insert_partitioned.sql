-- checkin_insert.sql on the partitioned layout (geo/db/partition): the row carries its member's
-- province, and checkins_once is UNIQUE (province_id, activity_id, member_id) there.
INSERT INTO checkins (province_id, activity_id, member_id, checked_at, distance_m, method)
VALUES ((SELECT m.province_id FROM members m WHERE m.id = $2), $1, $2, $3, $4, $5)
ON CONFLICT ON CONSTRAINT checkins_once DO NOTHING
RETURNING id, activity_id, member_id, checked_at, distance_m, method
