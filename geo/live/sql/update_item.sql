-- An item replaced or patched: every checked value and the point ({extra}: e.g. updated_at).
UPDATE {table} AS t
SET {sets}, geom = ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326){extra}
WHERE t.id = {id}
