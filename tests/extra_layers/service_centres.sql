-- 党群服务中心 only, with the organisation that runs each (a subquery over an existing table).
SELECT sp.id, sp.name, sp.kind, sp.org_id, sp.phone, sp.geom
FROM service_points sp
WHERE sp.kind = '党群服务中心'
