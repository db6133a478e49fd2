-- The plain-table floor of bench/bench_tiles.py: the tile's rows over the table as tipg would
-- draw them (ST_AsMVTGeom into the tile with a 64-unit buffer), the layer's public fields as
-- properties (bench_tiles.py checks the list against the catalog);
-- no cluster tables, no guard, no budget. Parameters: z, x, y.
SELECT ST_AsMVT(q, 'service_points', 4096, 'geom', 'id') FROM (
    SELECT t.id, t.code, t.name, t.kind, t.address, t.opening_hours, t.capacity, t.org_id,
           ST_AsMVTGeom(ST_Transform(t.geom, 3857), ST_TileEnvelope($1, $2, $3), 4096, 64, true)
           AS geom
    FROM service_points AS t
    WHERE t.geom && ST_Transform(ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096), 4326)
) AS q
