-- The organisation tree by code (a written organisation's parent must not make a cycle).
SELECT o.code, p.code AS parent
FROM organisations o LEFT JOIN organisations p ON p.id = o.parent_id
