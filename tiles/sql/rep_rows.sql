-- Representative points of shapes in the tile (each shape counted in exactly one tile).
SELECT {cols}
FROM (SELECT t.*, ST_PointOnSurface(t.{geom}) AS __rep FROM {source}
      WHERE t.{geom} && ST_MakeEnvelope({west}, {south}, {east}, {north}, 4326) {filters}) AS t
WHERE ST_X(t.__rep) >= {west} AND ST_X(t.__rep) < {east} AND ST_Y(t.__rep) > {south} AND ST_Y(t.__rep) <= {north}
