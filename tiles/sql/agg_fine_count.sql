-- Tile counts of a zoom above AGG_MAXZOOM, from the finest level.
INSERT INTO tile_agg_count (layer, token, z, x, y, n)
SELECT {layer}, {token}, {zoom}::smallint, (gx >> {shift})::int, (gy >> {shift})::int, sum(n)
FROM __agg_{finest} GROUP BY 4, 5
