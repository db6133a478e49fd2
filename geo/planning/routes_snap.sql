-- Each point ({xs}, {ys}) snapped to its nearest road edge usable by the mode (kinds in
-- {closed} are not): the edge, the fraction along it and the access distance in metres.
SELECT u.i, c.id AS edge_id, ST_LineLocatePoint(c.geom, u.g) AS fraction, c.d AS snap_m
FROM (
    SELECT i, ST_SetSRID(ST_MakePoint(x, y), 4326) AS g
    FROM unnest({xs}::float8[], {ys}::float8[]) WITH ORDINALITY AS v(x, y, i)
) u
LEFT JOIN LATERAL (
    SELECT k.id, k.geom, ST_Distance(k.geom::geography, u.g::geography) AS d
    FROM (
        SELECT r.id, r.geom FROM roads r
        WHERE r.source IS NOT NULL AND r.target IS NOT NULL AND r.length_m IS NOT NULL
          AND r.kind <> ALL({closed}::text[])
        ORDER BY r.geom <-> u.g LIMIT 5
    ) k
    ORDER BY d, k.id LIMIT 1
) c ON true
ORDER BY u.i
