-- The walking route from the first point to each of {ends}: the access leg from the origin to its
-- road, the network path (edges cut at the snap fractions), and the access leg to the target.
WITH pts AS (
    SELECT u.pid, u.edge_id, u.fraction, u.x, u.y, r.geom AS edge_geom
    FROM unnest({pids}::bigint[], {edges}::bigint[], {fracs}::float8[], {xs}::float8[], {ys}::float8[])
         AS u(pid, edge_id, fraction, x, y)
    JOIN roads r ON r.id = u.edge_id
),
p AS (
    SELECT * FROM pgr_withPoints(
        format({edges_sql}, {x0}::float8, {y0}::float8, {x1}::float8, {y1}::float8),
        format({points_sql}, {pids}::bigint[], {edges}::bigint[], {fracs}::float8[]),
        -1, {ends}::bigint[], directed => false, details => false)
),
s AS (
    SELECT p.end_pid, p.path_seq, p.node, p.edge,
           lead(p.node) OVER (PARTITION BY p.end_pid ORDER BY p.path_seq) AS nxt
    FROM p
),
ends AS (
    SELECT s.end_pid, s.path_seq, r.geom,
           CASE WHEN s.node < 0 THEN (SELECT fraction FROM pts WHERE pid = -s.node)
                WHEN s.node = r.source THEN 0.0 ELSE 1.0 END AS a,
           CASE WHEN s.nxt < 0 THEN (SELECT fraction FROM pts WHERE pid = -s.nxt)
                WHEN s.nxt = r.source THEN 0.0 ELSE 1.0 END AS b
    FROM s JOIN roads r ON r.id = s.edge
    WHERE s.edge > 0
),
pieces AS (
    SELECT end_pid, path_seq,
           CASE WHEN a <= b THEN ST_LineSubstring(geom, a, b)
                ELSE ST_Reverse(ST_LineSubstring(geom, b, a)) END AS g
    FROM ends WHERE a <> b
    UNION ALL
    SELECT e.end_pid, 0, ST_MakeLine(ST_SetSRID(ST_MakePoint(o.x, o.y), 4326),
                                     ST_LineInterpolatePoint(o.edge_geom, o.fraction))
    FROM (SELECT DISTINCT end_pid FROM p) e, pts o WHERE o.pid = 1
    UNION ALL
    SELECT t.pid * -1, 1000000, ST_MakeLine(ST_LineInterpolatePoint(t.edge_geom, t.fraction),
                                            ST_SetSRID(ST_MakePoint(t.x, t.y), 4326))
    FROM pts t WHERE t.pid > 1
)
SELECT end_pid, ST_AsGeoJSON(ST_LineMerge(ST_Collect(g ORDER BY path_seq)), 7) AS geojson
FROM pieces WHERE NOT ST_IsEmpty(g) AND ST_Length(g) > 0
GROUP BY end_pid
