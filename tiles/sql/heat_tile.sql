-- A heat tile: the published cells of resolution {res} and the merged remainders of coarser ones.
SELECT ST_AsMVT(q, {name}, 4096, 'geom') FROM (
    SELECT ST_AsMVTGeom(ST_Transform(h.geom, 3857), ST_TileEnvelope({z}, {x}, {y}), 4096, 64, true)
           AS geom, h.cell, h.res, h.count, h.merged
    FROM heat_cells AS h
    WHERE h.layer = {layer} AND h.token = {token}
      AND ((h.res = {res} AND NOT h.merged) OR (h.res < {res} AND h.merged))
      AND h.geom && ST_Expand(ST_MakeEnvelope({west}, {south}, {east}, {north}, 4326), ({east} - {west}) / 64)
) AS q WHERE q.geom IS NOT NULL
