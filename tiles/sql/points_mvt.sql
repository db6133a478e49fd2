-- Points whose tile is known to be under budget, in tile coordinates computed directly (x is
-- linear in longitude; y is the spherical Mercator of the latitude): the same integers as
-- ST_AsMVTGeom(ST_Transform(…)) gives, at two thirds of the cost. {bottom} and {top} are the
-- tile's Mercator bottom and top.
SELECT ST_AsMVT(q, {layer}, 4096, 'geom', '__fid') FROM (
    SELECT t.{key} AS __fid,
           ST_MakePoint(round((ST_X(t.{geom}) - {west}) / ({east} - {west}) * 4096),
                        round(({top} - ln(tan(pi() / 4 + radians(ST_Y(t.{geom})) / 2)) * 6378137.0)
                              / ({top} - {bottom}) * 4096)) AS geom {cols}
    FROM {source}
    WHERE t.{geom} && ST_MakeEnvelope({west}, {south}, {east}, {north}, 4326)
      AND ST_X(t.{geom}) >= {west} AND ST_X(t.{geom}) < {east}
      AND ST_Y(t.{geom}) > {south} AND ST_Y(t.{geom}) <= {north}
) AS q
