-- The secretaries: active leaders bound to an organisation, with its name.
SELECT u.id, u.org_id, o.name
FROM users u JOIN organisations o ON o.id = u.org_id
WHERE u.role = 'leader' AND u.active
