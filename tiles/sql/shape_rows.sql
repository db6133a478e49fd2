-- Rows of a line or polygon layer touching the tile and its buffer.
SELECT {cols}
FROM {source}
WHERE t.{geom} && ST_Expand(ST_MakeEnvelope({west}, {south}, {east}, {north}, 4326), ({east} - {west}) * {buffer_ratio})
  {filters}
