-- Service points of the ids $1 (or with no owner), with a panorama and how many scheduled
-- activities they hold from now on ($2 days) and right now (active: the tour pauses there).
SELECT sp.id, sp.name, sp.kind, sp.address, ST_X(sp.geom) AS lon, ST_Y(sp.geom) AS lat,
  (SELECT p.id FROM panoramas p WHERE p.service_point_id = sp.id ORDER BY p.id LIMIT 1) AS panorama_id,
  (SELECT count(*) FROM activities a WHERE a.service_point_id = sp.id AND a.status = 'scheduled'
     AND a.ends_at > now() AND a.starts_at < now() + make_interval(days => $2)) AS upcoming,
  (SELECT count(*) FROM activities a WHERE a.service_point_id = sp.id AND a.status = 'scheduled'
     AND a.starts_at <= now() AND a.ends_at > now()) AS active_now
FROM service_points sp
WHERE sp.org_id IS NULL OR sp.org_id = ANY($1::bigint[])
ORDER BY sp.id
