-- A service point's card: the caller's {fields}, its organisation and panoramas, and whether the
-- caller sees it at their own audience ({own}); {where} keeps the rows the caller may see.
SELECT {fields}, ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat, o.name AS org_name,
       COALESCE((SELECT json_agg(json_build_object('id', p.id, 'title', p.title,
                                                   'heading', p.heading) ORDER BY p.id)
                 FROM panoramas p WHERE p.service_point_id = t.id), '[]') AS panoramas,
       {own} AS in_scope
FROM service_points t LEFT JOIN organisations o ON o.id = t.org_id
WHERE t.id = {id} AND {where}
