-- One zoom's clusters: the level's cells grouped per tile cell with the breakdown as jsonb.
INSERT INTO tile_agg (layer, token, z, x, y, cell, n, mx, my, kinds)
SELECT {layer}, {token}, {zoom}::smallint, (gx >> {bits})::int, (gy >> {bits})::int,
       ((gx & {mask}) * {cells} + (gy & {mask}))::int,
       sum(n), sum(sx) / sum(n), sum(sy) / sum(n),
       jsonb_object_agg({breakdown} || coalesce(k, ''), n)
FROM __agg_{z} GROUP BY gx, gy
