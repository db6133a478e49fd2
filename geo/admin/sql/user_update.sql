-- A user's role, scope, member link and state.
UPDATE users SET role = $2::text, org_id = $3::bigint, member_id = $4::bigint, active = $5::boolean
WHERE id = $1
