-- The tiles a cluster build encodes (tiles/encoded.py): those drawn as points (at or above the
-- layer's cluster_below zoom, at most `budget` points) that hold at least `dense` points.
SELECT c.z, c.x, c.y
FROM tile_agg_count AS c
WHERE c.layer = {layer} AND c.token = {token} AND c.n >= {dense} AND c.n <= {budget}
  AND c.z >= {minzoom}
ORDER BY c.z, c.x, c.y
