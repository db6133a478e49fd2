-- Roads, vertices, and roads whose source/target/length differ from the computed edges.
{edges}
SELECT (SELECT count(*) FROM roads), (SELECT count(*) FROM v),
       (SELECT count(*) FROM (
           SELECT 1 FROM edges e JOIN roads r ON r.id = e.id
           WHERE (r.source, r.target, r.length_m) IS DISTINCT FROM (e.source, e.target, e.len)
       ) s)
