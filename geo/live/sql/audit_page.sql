-- A page of the audit, newest first, optionally of one collection and one item.
SELECT a.id, a.at, a.actor, a.actor_role, a.action, a.collection, a.item_id,
       a.before::text AS before, a.after::text AS after, a.request_id
FROM audit_log a
WHERE ($1::text IS NULL OR a.collection = $1::text)
  AND ($2::bigint IS NULL OR a.item_id = $2::bigint)
  AND ($3::text IS NULL OR a.action = $3::text)
ORDER BY a.id DESC
LIMIT $4::bigint OFFSET $5::bigint
