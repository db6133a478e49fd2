-- A new user (the admin screen's "add").
INSERT INTO users (username, password_hash, role, org_id, member_id)
VALUES ($1::text, $2::text, $3::text, $4::bigint, $5::bigint)
RETURNING id
