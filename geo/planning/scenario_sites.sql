-- Service points as a scenario sees them, never written: the live rows minus {drop}, with the
-- patches {p_*} applied (a moved position, set properties), plus the added points {a_*}
-- (negative ids); those inside the box {x0} {y0} {x1} {y1}, by id.
WITH patch AS (
    SELECT * FROM unnest(
        {p_id}::bigint[], {p_lon}::float8[], {p_lat}::float8[], {p_name}::text[],
        {p_kind}::text[], {p_capacity}::float8[], {p_opening_hours}::text[]
    ) AS p(id, lon, lat, name, kind, capacity, opening_hours)
), added AS (
    SELECT * FROM unnest(
        {a_id}::bigint[], {a_lon}::float8[], {a_lat}::float8[], {a_name}::text[],
        {a_kind}::text[], {a_capacity}::float8[], {a_opening_hours}::text[]
    ) AS a(id, lon, lat, name, kind, capacity, opening_hours)
), sites AS (
    SELECT s.id, coalesce(p.name, s.name) AS name, coalesce(p.kind, s.kind) AS kind,
        coalesce(p.capacity, s.capacity::float8) AS capacity,
        coalesce(p.opening_hours, s.opening_hours) AS opening_hours, s.org_id,
        CASE WHEN p.lon IS NULL THEN s.geom
            ELSE ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326) END AS geom
    FROM service_points s LEFT JOIN patch p ON p.id = s.id
    WHERE s.id <> ALL({drop}::bigint[])
    UNION ALL
    SELECT a.id, a.name, a.kind, a.capacity, a.opening_hours, NULL::bigint,
        ST_SetSRID(ST_MakePoint(a.lon, a.lat), 4326)
    FROM added a
)
SELECT id, name, kind, ST_X(geom) AS lon, ST_Y(geom) AS lat, capacity, opening_hours, org_id
FROM sites
WHERE geom && ST_MakeEnvelope({x0}, {y0}, {x1}, {y1}, 4326)
ORDER BY id
