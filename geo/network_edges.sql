-- The walkable network's edges: distinct road end points snapped to 1e-7° (~1 cm) numbered in a
-- stable order (the same result as pgr_createTopology on noded lines, set-wise in one statement).
WITH ends AS (
    SELECT id,
           round(ST_X(ST_StartPoint(geom))::numeric, 7) AS sx,
           round(ST_Y(ST_StartPoint(geom))::numeric, 7) AS sy,
           round(ST_X(ST_EndPoint(geom))::numeric, 7) AS ex,
           round(ST_Y(ST_EndPoint(geom))::numeric, 7) AS ey,
           ST_Length(geom::geography) AS len
    FROM roads
), pts AS (
    SELECT sx AS x, sy AS y FROM ends UNION SELECT ex, ey FROM ends
), v AS (
    SELECT x, y, row_number() OVER (ORDER BY x, y) AS vid FROM pts
), edges AS (
    SELECT e.id, vs.vid AS source, ve.vid AS target, e.len
    FROM ends e
    JOIN v vs ON vs.x = e.sx AND vs.y = e.sy
    JOIN v ve ON ve.x = e.ex AND ve.y = e.ey
)
