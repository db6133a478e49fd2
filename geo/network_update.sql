-- Store the computed source/target/length on the roads that differ.
{edges}
UPDATE roads r SET source = e.source, target = e.target, length_m = e.len FROM edges e
WHERE r.id = e.id AND (r.source, r.target, r.length_m) IS DISTINCT FROM (e.source, e.target, e.len)
