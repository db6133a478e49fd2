-- Published heat items of resolution $3 (and merged remainders of coarser ones) as GeoJSON.
SELECT cell, res, count, merged, ST_AsGeoJSON(geom, 7) AS geom FROM heat_cells
WHERE layer = $1 AND token = $2 AND ((res = $3 AND NOT merged) OR (res < $3 AND merged))
ORDER BY res, cell, merged
