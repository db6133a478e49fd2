-- An item replaced or patched: every checked value and its geometry ({geom}: the point from
-- lon/lat, or a shape; {extra}: e.g. updated_at).
UPDATE {table} AS t
SET {sets}, geom = {geom}{extra}
WHERE t.id = {id}
