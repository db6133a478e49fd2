-- Every organisation with its own members and own full members (正式), for the health rules.
SELECT o.id, o.parent_id, o.type, o.founded,
       count(m.id)::int AS members,
       count(m.id) FILTER (WHERE m.status = '正式')::int AS full_members
FROM organisations o
LEFT JOIN members m ON m.branch_id = o.id
GROUP BY o.id
ORDER BY o.id
