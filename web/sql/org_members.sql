-- Every organisation's own members by class (the pieces of every published member figure);
-- coverage classes only when a radius ($1) is given. A home is covered when a service point lies
-- within $1 m on the spheroid (ST_DWithin on geography). The figures are exactly those of that
-- test, made fast in two ways (the page figures build runs this: 10,000,000 members):
-- * homes are grouped in cells of 0.001 x 0.001 degrees. No home of a cell is farther than
--   R = 80 m from the cell's centre (half the diagonal at the ellipsoid's largest metres per
--   degree, 111,694: 79 m, plus 1 m), so by the triangle inequality every home of a cell whose
--   centre has a service point within $1 - R m is covered (all_in), and no home of a cell whose
--   centre has none within $1 + R m is (NOT some_in). Only the homes of the other cells, along
--   the edge of a circle, are tested one by one;
-- * the box around a point (1.1 times the metres a degree of latitude and of longitude at the
--   box's poleward edge hold at least, no longitude limit near a pole or the antimeridian) lets
--   the service points' GiST index skip the far ones before the exact test.
-- A test per home without the box took 50 s at 1,000,000 members; with it alone, 15 s.
WITH cells AS (
    SELECT DISTINCT floor(ST_X(m.home) / 0.001) AS i, floor(ST_Y(m.home) / 0.001) AS j
    FROM members m WHERE m.home IS NOT NULL AND $1::float8 IS NOT NULL
), centres AS (
    SELECT i, j, 1.1 * ($1::float8 + 80.0) / 110574.0 AS dy,
           ST_SetSRID(ST_MakePoint(least(greatest((i + 0.5) * 0.001, -180.0), 180.0),
                                   least(greatest((j + 0.5) * 0.001, -90.0), 90.0)), 4326) AS c
    FROM cells
), boxes AS (
    SELECT i, j, c, ST_Expand(c,
               CASE WHEN abs(ST_Y(c)) + dy >= 89.0
                      OR abs(ST_X(c)) + 1.1 * ($1::float8 + 80.0) / 1900.0 >= 180.0 THEN 360.0
                    ELSE 1.1 * ($1::float8 + 80.0) / (111319.49 * cos(radians(abs(ST_Y(c)) + dy)))
               END,
               dy) AS box
    FROM centres
), classed AS (
    SELECT b.i, b.j,
           $1::float8 > 80.0 AND EXISTS (
               SELECT 1 FROM service_points s WHERE s.geom && b.box
                 AND ST_DWithin(s.geom::geography, b.c::geography, $1::float8 - 80.0)) AS all_in,
           EXISTS (
               SELECT 1 FROM service_points s WHERE s.geom && b.box
                 AND ST_DWithin(s.geom::geography, b.c::geography, $1::float8 + 80.0)) AS some_in
    FROM boxes b
), homes AS (
    SELECT m.id, m.branch_id, m.home, k.all_in, k.some_in, 1.1 * $1::float8 / 110574.0 AS dy
    FROM members m LEFT JOIN classed k
      ON k.i = floor(ST_X(m.home) / 0.001) AND k.j = floor(ST_Y(m.home) / 0.001)
)
SELECT o.id, o.parent_id, o.code,
       count(h.id) AS members,
       count(h.id) FILTER (WHERE $1::float8 IS NOT NULL AND h.home IS NOT NULL AND h.some_in
           AND (h.all_in OR EXISTS (
               SELECT 1 FROM service_points s
               WHERE s.geom && ST_Expand(h.home,
                       CASE WHEN abs(ST_Y(h.home)) + h.dy >= 89.0
                              OR abs(ST_X(h.home)) + 1.1 * $1::float8 / 1900.0 >= 180.0 THEN 360.0
                            ELSE 1.1 * $1::float8
                                 / (111319.49 * cos(radians(abs(ST_Y(h.home)) + h.dy))) END,
                       h.dy)
                 AND ST_DWithin(s.geom::geography, h.home::geography, $1::float8)))) AS covered,
       count(h.id) FILTER (WHERE h.home IS NULL) AS no_home
FROM organisations o LEFT JOIN homes h ON h.branch_id = o.id
GROUP BY o.id
ORDER BY o.code, o.id
