-- One write through the API, kept for ever (audit_log is append-only).
INSERT INTO audit_log (actor, actor_role, action, collection, item_id, before, after, request_id)
VALUES ($1::text, $2::text, $3::text, $4::text, $5::bigint, $6::text::jsonb, $7::text::jsonb, $8::text)
RETURNING id
