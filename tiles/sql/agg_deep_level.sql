-- A deep zoom's clusters, only in the tiles holding more than {budget} source features.
INSERT INTO tile_agg (layer, token, z, x, y, cell, n, mx, my, kinds)
SELECT {layer}, {token}, {zoom}::smallint, (a.gx >> {bits})::int, (a.gy >> {bits})::int,
       ((a.gx & {mask}) * {cells} + (a.gy & {mask}))::int,
       sum(a.n), sum(a.sx) / sum(a.n), sum(a.sy) / sum(a.n),
       jsonb_object_agg({breakdown} || coalesce(a.k, ''), a.n)
FROM __agg_{z} AS a
JOIN (SELECT gx >> {bits} AS tx, gy >> {bits} AS ty FROM __agg_{z}
      GROUP BY 1, 2 HAVING sum(n) > {budget}) AS big
  ON big.tx = a.gx >> {bits} AND big.ty = a.gy >> {bits}
GROUP BY a.gx, a.gy
