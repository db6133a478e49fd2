-- The next five activities at service point {id} the caller may see ({where}), with the
-- caller's {fields} and whether the caller sees each at their own audience ({own}).
SELECT {fields}, {own} AS in_scope FROM activities t
WHERE t.service_point_id = {id} AND t.ends_at >= now() AND {where}
ORDER BY t.starts_at, t.id LIMIT 5
