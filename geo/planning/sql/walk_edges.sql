-- The routable roads in the box {x0} {y0} {x1} {y1}: vertices, length and end coordinates.
SELECT r.source, r.target, r.length_m,
    ST_X(ST_StartPoint(r.geom)) AS x0, ST_Y(ST_StartPoint(r.geom)) AS y0,
    ST_X(ST_EndPoint(r.geom)) AS x1, ST_Y(ST_EndPoint(r.geom)) AS y1
FROM roads r
WHERE r.source IS NOT NULL AND r.target IS NOT NULL AND r.length_m IS NOT NULL
    AND r.geom && ST_MakeEnvelope({x0}, {y0}, {x1}, {y1}, 4326)
