-- pgr_withPointsDD from every site at once; then, per site, each street is cut to the part
-- whose network distance is within the limit (from either end, or along the site's own street),
-- and the pieces are wrapped in a concave hull buffered by the access distance.
WITH pts AS (
    SELECT u.pid, u.edge_id, u.fraction FROM unnest({pids}::bigint[], {edges}::bigint[],
                                                    {fracs}::float8[]) AS u(pid, edge_id, fraction)
),
dd AS (
    SELECT start_vid, node, agg_cost FROM pgr_withPointsDD(
        format({edges_sql}, {x0}::float8, {y0}::float8, {x1}::float8, {y1}::float8),
        format({points_sql}, {pids}::bigint[], {edges}::bigint[], {fracs}::float8[]),
        {starts}::bigint[], {limit}::float8, directed => false, details => false, equicost => false)
    WHERE node > 0
),
ends AS (
    SELECT dd.start_vid, r.id, dd.agg_cost AS cs, NULL::float8 AS ct FROM dd JOIN roads r ON r.source = dd.node
    UNION ALL
    SELECT dd.start_vid, r.id, NULL, dd.agg_cost FROM dd JOIN roads r ON r.target = dd.node
),
e AS (
    SELECT start_vid, id, min(cs) AS cs, min(ct) AS ct FROM ends GROUP BY start_vid, id
),
pieces AS (
    SELECT e.start_vid, CASE
        WHEN e.cs IS NOT NULL AND e.ct IS NOT NULL AND e.cs + e.ct + r.length_m <= 2 * {limit} THEN r.geom
        ELSE ST_Collect(
            CASE WHEN e.cs IS NOT NULL AND r.length_m > 0
                 THEN ST_LineSubstring(r.geom, 0, least(1.0, ({limit} - e.cs) / r.length_m)) END,
            CASE WHEN e.ct IS NOT NULL AND r.length_m > 0
                 THEN ST_LineSubstring(r.geom, greatest(0.0, 1 - ({limit} - e.ct) / r.length_m), 1) END)
        END AS g
    FROM e JOIN roads r ON r.id = e.id
    UNION ALL
    SELECT -p.pid, ST_LineSubstring(r.geom, greatest(0.0, p.fraction - {limit} / r.length_m),
                                    least(1.0, p.fraction + {limit} / r.length_m))
    FROM pts p JOIN roads r ON r.id = p.edge_id WHERE r.length_m > 0
)
SELECT -start_vid AS pid,
       ST_AsBinary(ST_Buffer(ST_ConcaveHull(ST_Collect(g), {ratio})::geography, {buffer})::geometry)
FROM pieces WHERE g IS NOT NULL
GROUP BY start_vid
