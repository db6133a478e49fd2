-- The path of each leg ({froms} → {tos}, negative pids of the snapped points): the access leg
-- from the first stop to its road, the network path (edges cut at the snap fractions) and the
-- access leg to the next stop; GeoJSON and metres per leg.
WITH pts AS (
    SELECT u.pid, u.edge_id, u.fraction, u.x, u.y, r.geom AS edge_geom
    FROM unnest({pids}::bigint[], {edges}::bigint[], {fracs}::float8[], {xs}::float8[], {ys}::float8[])
         AS u(pid, edge_id, fraction, x, y)
    JOIN roads r ON r.id = u.edge_id
),
p AS (
    SELECT * FROM pgr_withPoints(
        format({edges_sql}, {speeds}::text, {default_mps}::float8,
               {x0}::float8, {y0}::float8, {x1}::float8, {y1}::float8),
        format({points_sql}, {pids}::bigint[], {edges}::bigint[], {fracs}::float8[]),
        format({pairs_sql}, {froms}::bigint[], {tos}::bigint[]),
        directed => false, details => false)
),
s AS (
    SELECT p.start_pid, p.end_pid, p.path_seq, p.node, p.edge,
           lead(p.node) OVER (PARTITION BY p.start_pid, p.end_pid ORDER BY p.path_seq) AS nxt
    FROM p
),
ends AS (
    SELECT s.start_pid, s.end_pid, s.path_seq, r.geom,
           CASE WHEN s.node < 0 THEN (SELECT fraction FROM pts WHERE pid = -s.node)
                WHEN s.node = r.source THEN 0.0 ELSE 1.0 END AS a,
           CASE WHEN s.nxt < 0 THEN (SELECT fraction FROM pts WHERE pid = -s.nxt)
                WHEN s.nxt = r.source THEN 0.0 ELSE 1.0 END AS b
    FROM s JOIN roads r ON r.id = s.edge
    WHERE s.edge > 0
),
legs AS (SELECT * FROM unnest({froms}::bigint[], {tos}::bigint[]) AS l(start_pid, end_pid)),
pieces AS (
    SELECT start_pid, end_pid, path_seq,
           CASE WHEN a <= b THEN ST_LineSubstring(geom, a, b)
                ELSE ST_Reverse(ST_LineSubstring(geom, b, a)) END AS g
    FROM ends WHERE a <> b
    UNION ALL
    SELECT l.start_pid, l.end_pid, 0,
           ST_MakeLine(ST_SetSRID(ST_MakePoint(o.x, o.y), 4326),
                       ST_LineInterpolatePoint(o.edge_geom, o.fraction))
    FROM legs l JOIN pts o ON o.pid = -l.start_pid
    UNION ALL
    SELECT l.start_pid, l.end_pid, 1000000,
           ST_MakeLine(ST_LineInterpolatePoint(t.edge_geom, t.fraction),
                       ST_SetSRID(ST_MakePoint(t.x, t.y), 4326))
    FROM legs l JOIN pts t ON t.pid = -l.end_pid
)
SELECT start_pid, end_pid,
       ST_AsGeoJSON(ST_LineMerge(ST_Collect(g ORDER BY path_seq)), 7) AS geojson,
       sum(ST_Length(g::geography)) AS metres
FROM pieces WHERE NOT ST_IsEmpty(g) AND ST_Length(g) > 0
GROUP BY start_pid, end_pid
