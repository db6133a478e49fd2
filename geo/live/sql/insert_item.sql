-- A new item: checked values, and the point from lon/lat.
INSERT INTO {table} ({columns}, geom)
VALUES ({values}, ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326))
RETURNING id
