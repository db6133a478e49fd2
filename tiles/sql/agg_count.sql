-- Tile counts up to AGG_MAXZOOM, from the clusters.
INSERT INTO tile_agg_count (layer, token, z, x, y, n)
SELECT layer, token, z, x, y, sum(n) FROM tile_agg
WHERE layer = {layer} AND token = {token} AND z <= {agg_maxzoom}
GROUP BY layer, token, z, x, y
