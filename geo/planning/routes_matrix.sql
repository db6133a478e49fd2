-- Seconds between every pair of the snapped points {pids} on the roads in the box, each edge
-- at the speed of its kind ({speeds}: kind → m/s as JSON, {default_mps} otherwise); pgRouting's
-- inner SQL goes in as string literals that format() completes inside the server.
SELECT start_vid, end_vid, agg_cost FROM pgr_withPointsCostMatrix(
    format({edges_sql}, {speeds}::text, {default_mps}::float8,
           {x0}::float8, {y0}::float8, {x1}::float8, {y1}::float8),
    format({points_sql}, {pids}::bigint[], {edges}::bigint[], {fracs}::float8[]),
    {ends}::bigint[], directed => false)
