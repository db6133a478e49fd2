-- The cluster tile read from the table: positions go to tile units by arithmetic, the same
-- integers ST_AsMVTGeom would give ({left}..{top}: the tile's Mercator bounds).
SELECT ST_AsMVT(q, {name}, 4096, 'geom') FROM (
    SELECT ST_MakePoint(round((a.mx - {left}) / ({right} - {left}) * 4096),
                        round(({top} - a.my) / ({top} - {bottom}) * 4096)) AS geom,
           a.n AS count, true AS cluster, a.cell, a.kinds
    FROM tile_agg AS a
    WHERE a.layer = {layer} AND a.token = {token} AND a.z = {z} AND a.x = {x} AND a.y = {y}
) AS q
