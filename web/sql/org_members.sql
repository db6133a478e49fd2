-- Every organisation's own members by class (the pieces of every published member figure);
-- coverage classes only when a radius ($1) is given. A home is covered when a service point lies
-- within $1 m on the spheroid; the box around the home (1.1 times the metres a degree of latitude
-- and of longitude at the box's poleward edge hold at least, no longitude limit near a pole or
-- the antimeridian) only lets the service points' GiST index skip the far ones, so the figures are
-- those of ST_DWithin alone (it was 50 s at 1,000,000 members without it).
WITH homes AS (
    SELECT m.id, m.branch_id, m.home, 1.1 * $1::float8 / 110574.0 AS dy FROM members m
)
SELECT o.id, o.parent_id, o.code,
       count(h.id) AS members,
       count(h.id) FILTER (WHERE $1::float8 IS NOT NULL AND h.home IS NOT NULL AND EXISTS (
           SELECT 1 FROM service_points s
           WHERE s.geom && ST_Expand(h.home,
                   CASE WHEN abs(ST_Y(h.home)) + h.dy >= 89.0
                          OR abs(ST_X(h.home)) + 1.1 * $1::float8 / 1900.0 >= 180.0 THEN 360.0
                        ELSE 1.1 * $1::float8
                             / (111319.49 * cos(radians(abs(ST_Y(h.home)) + h.dy))) END,
                   h.dy)
             AND ST_DWithin(s.geom::geography, h.home::geography, $1::float8))) AS covered,
       count(h.id) FILTER (WHERE h.home IS NULL) AS no_home
FROM organisations o LEFT JOIN homes h ON h.branch_id = o.id
GROUP BY o.id
ORDER BY o.code, o.id
