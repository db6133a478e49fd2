-- Every organisation's current committee term, set-based (geo/samples/orglife.py): 5 years for
-- one in five (village and community organisations), 3 otherwise, elected 30 days to a term
-- less 30 days ago; one branch (the lowest seeded hash of its code) is overdue by 60 days.
-- Draws are 20 bits of a seeded hash of the code. Returns the rows offered.
WITH overdue AS (
    SELECT id FROM organisations WHERE type = '党支部'
    ORDER BY hashtextextended(code || ':overdue', %(seed)s), code LIMIT 1
), org AS (
    SELECT o.id, o.code, o.id IN (SELECT id FROM overdue) AS late,
        CASE WHEN (h & 1048575)::float8 / 1048576 < 0.2 THEN 5 ELSE 3 END AS years,
        ((h >> 20) & 1048575)::float8 / 1048576 AS back
    FROM organisations AS o,
        LATERAL (SELECT hashtextextended(o.code || ':term', %(seed)s) AS h) AS draw
), made AS MATERIALIZED (
    SELECT 'sample:' || code || ':' || to_char(elected_on, 'YYYY-MM-DD') AS code,
        id AS org_id, elected_on, years AS term_years
    FROM org,
        LATERAL (SELECT %(today)s::date - CASE WHEN late THEN years * 365 + 60
                     ELSE 30 + floor(back * (years * 365 - 60))::int END AS elected_on) AS day
    ORDER BY 1  -- in the unique index's order (as the meetings)
), written AS (
    INSERT INTO committee_terms (code, org_id, elected_on, term_years)
    SELECT code, org_id, elected_on, term_years FROM made
    ON CONFLICT DO NOTHING
)
SELECT count(*) FROM made
