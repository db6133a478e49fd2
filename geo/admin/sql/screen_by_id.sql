-- One screen key with its organisation, by id.
SELECT k.id, k.key, k.name, k.org_id, o.code AS org_code, o.name AS org_name, k.active, k.created_at
FROM screen_keys k LEFT JOIN organisations o ON o.id = k.org_id
WHERE k.id = $1
