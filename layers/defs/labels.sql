-- One labelled point per street (街道, at its boundary's inner point), per named road (half way
-- along its longest piece), per service point and per 党委/党总支: the basemap's labels
-- (issue 11 §1). `rank` orders them for collision handling (higher wins); `minzoom` is the zoom
-- from which a label is drawn, so a district seen whole names its streets, 党委 and arterial
-- roads only and the rest come in as one zooms in; ids are unique across the parts (id * 4 + part).
SELECT d.id * 4 AS id, d.name, 'street' AS kind, 40 AS rank, 11 AS minzoom,
       ST_PointOnSurface(d.geom) AS geom
  FROM districts d WHERE d.level <> 'district'
UNION ALL
SELECT r.id * 4 + 1, r.name, 'road', CASE r.kind WHEN '主干路' THEN 30 WHEN '次干路' THEN 20
       ELSE 10 END, CASE r.kind WHEN '主干路' THEN 11 WHEN '次干路' THEN 14 ELSE 15 END,
       ST_LineInterpolatePoint(r.geom, 0.5)
  FROM (SELECT DISTINCT ON (name) id, name, kind, geom FROM roads
         WHERE name IS NOT NULL AND name <> '' AND GeometryType(geom) = 'LINESTRING'
         ORDER BY name, ST_Length(geom) DESC) r
UNION ALL
SELECT s.id * 4 + 2, s.name, 'service_point', 50, 14, s.geom FROM service_points s
UNION ALL
SELECT o.id * 4 + 3, o.name, 'organisation', CASE o.type WHEN '党委' THEN 60 ELSE 45 END,
       CASE o.type WHEN '党委' THEN 11 ELSE 13 END, o.geom
  FROM organisations o WHERE o.type IN ('党委', '党总支') AND o.geom IS NOT NULL
