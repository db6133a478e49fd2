-- Rows of a point layer whose point lies in the tile (half-open, so tiles partition the points).
SELECT {cols}
FROM {source}
WHERE t.{geom} && ST_MakeEnvelope({west}, {south}, {east}, {north}, 4326)
  AND ST_X(t.{geom}) >= {west} AND ST_X(t.{geom}) < {east}
  AND ST_Y(t.{geom}) > {south} AND ST_Y(t.{geom}) <= {north}
  {filters}
