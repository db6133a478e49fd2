-- A pre-encoded tile (tiles/encoded.py); no row: render it live.
SELECT m.body FROM tile_mvt AS m
WHERE m.layer = {layer} AND m.token = {token} AND m.audience = {audience}
  AND m.z = {z} AND m.x = {x} AND m.y = {y}
