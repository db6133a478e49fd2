-- reg_upsert.sql on the partitioned layout (geo/db/partition): the row carries its member's
-- province, and registrations_once is UNIQUE (province_id, activity_id, member_id) there.
INSERT INTO registrations AS r (province_id, activity_id, member_id, status, created_at, updated_at)
VALUES ((SELECT m.province_id FROM members m WHERE m.id = $2), $1, $2, $3,
        clock_timestamp(), clock_timestamp())
ON CONFLICT ON CONSTRAINT registrations_once DO UPDATE
SET status = EXCLUDED.status, created_at = clock_timestamp(), updated_at = clock_timestamp()
WHERE r.status = 'cancelled'
RETURNING r.id, r.activity_id, r.member_id, r.status, r.created_at
