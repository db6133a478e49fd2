-- How many audit entries a filter matches.
SELECT count(*) FROM audit_log a
WHERE ($1::text IS NULL OR a.collection = $1::text)
  AND ($2::bigint IS NULL OR a.item_id = $2::bigint)
  AND ($3::text IS NULL OR a.action = $3::text)
