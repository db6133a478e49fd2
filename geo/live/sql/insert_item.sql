-- A new item: checked values, and its geometry ({geom}: the point from lon/lat, or a shape).
INSERT INTO {table} ({columns}, geom)
VALUES ({values}, {geom})
RETURNING id
