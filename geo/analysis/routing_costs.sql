-- Network metres from the first point to the points {ends} (negative pids) on the roads in the
-- box {x0} {y0} {x1} {y1}; pgRouting's inner SQL goes in as string literals that format()
-- completes inside the server.
SELECT end_pid, agg_cost FROM pgr_withPointsCost(
    format({edges_sql}, {x0}::float8, {y0}::float8, {x1}::float8, {y1}::float8),
    format({points_sql}, {pids}::bigint[], {edges}::bigint[], {fracs}::float8[]),
    -1, {ends}::bigint[], directed => false)
