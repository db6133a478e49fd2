-- Twelve months of every branch's dues, set-based (geo/samples/orglife.py): four branches in
-- five are paid up, the others owe for their last 2-3 months, a few for 6-8. Draws are 20 bits
-- of a seeded hash of the branch's code (its arrears run) and of the code and month (the share
-- paid and how many owe). Returns the rows offered.
WITH branch AS (
    SELECT id, code,
        CASE WHEN u < 0.8 THEN 0 WHEN u < 0.93 THEN 2 + floor(v * 2)::int
             ELSE 6 + floor(v * 3)::int END AS run
    FROM organisations,
        LATERAL (SELECT hashtextextended(code || ':dues', %(seed)s) AS h) AS draw,
        LATERAL (SELECT (h & 1048575)::float8 / 1048576 AS u,
                        ((h >> 20) & 1048575)::float8 / 1048576 AS v) AS roll
    WHERE type = '党支部'
), made AS MATERIALIZED (
    SELECT 'sample:' || b.code || ':' || to_char(m.month, 'YYYY-MM') AS code, b.id AS org_id,
        m.month,
        CASE WHEN owing THEN round((0.85 + ((h & 1048575)::float8 / 1048576) * 0.12)::numeric, 3)
             ELSE 1.0 END::float8 AS paid_share,
        CASE WHEN owing THEN 1 + floor(((h >> 20) & 1048575)::float8 / 1048576 * 3)::int
             ELSE 0 END AS arrears_count
    FROM branch AS b
        CROSS JOIN unnest(%(months)s::date[]) WITH ORDINALITY AS m(month, n),
        LATERAL (SELECT m.n > 12 - b.run AS owing,
                        hashtextextended(b.code || to_char(m.month, ':YYYY-MM'), %(seed)s) AS h) AS draw
    ORDER BY 1  -- in the unique index's order (as the meetings)
), written AS (
    INSERT INTO dues_months (code, org_id, month, paid_share, arrears_count)
    SELECT code, org_id, month, paid_share, arrears_count FROM made
    ON CONFLICT DO NOTHING
)
SELECT count(*) FROM made
