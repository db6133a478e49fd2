-- Features as they are.
SELECT ST_AsMVT(q, {layer}, 4096, 'geom', '__fid') FROM (
    SELECT r.__fid, ST_AsMVTGeom({geom_expr}, ST_TileEnvelope({z}, {x}, {y}), 4096, {buffer}, true)
           AS geom {props}
    FROM ({rows}) AS r
) AS q WHERE q.geom IS NOT NULL
