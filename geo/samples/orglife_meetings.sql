-- Twelve months of every branch's meetings, set-based (geo/samples/orglife.py): one row per
-- (branch, kind, period) that the branch's profile keeps. The randomness is a seeded hash of the
-- branch's code (its profile, the kind a `behind` branch stopped) and of the branch, kind and
-- period (held or not, which day, how many came), 20 bits per draw, so the same seed gives the
-- same rows whatever order PostgreSQL reads them in. Returns the rows offered (a rerun offers
-- the same rows and adds none: they are keyed by their codes).
WITH branch AS (
    SELECT id, code, hashtextextended(code || ':profile', %(seed)s) AS h
    FROM organisations WHERE type = '党支部'
), profiled AS (
    SELECT id, code,
        CASE WHEN u < %(cut_keeps)s THEN %(p_keeps)s
             WHEN u < %(cut_slips)s THEN %(p_slips)s
             ELSE %(p_behind)s END AS keep,
        CASE WHEN u >= %(cut_slips)s
             THEN (%(kinds)s::text[])[1 + floor(v * cardinality(%(kinds)s::text[]))::int] END
            AS stopped
    FROM branch,
        LATERAL (SELECT (h & 1048575)::float8 / 1048576 AS u,
                        ((h >> 20) & 1048575)::float8 / 1048576 AS v) AS draw
), slot AS (
    SELECT * FROM unnest(%(slot_kinds)s::text[], %(slot_keys)s::text[], %(slot_starts)s::date[],
                         %(slot_days)s::int[], %(slot_late)s::bool[])
        AS s(kind, key, start, days, late)
), drawn AS (
    SELECT p.id, p.code, s.kind, s.start, s.days, p.keep,
        hashtextextended(p.code || s.key, %(seed)s) AS h
    FROM profiled AS p CROSS JOIN slot AS s
    WHERE NOT (s.late AND s.kind IS NOT DISTINCT FROM p.stopped)
), made AS MATERIALIZED (
    SELECT 'sample:' || code || ':' || kind || ':' || to_char(held_on, 'YYYY-MM-DD') AS code,
        id AS org_id, kind, held_on, 'import'::text AS source,
        5 + floor(((h >> 40) & 1048575)::float8 / 1048576 * 35)::int AS attendance,
        %(note)s::text AS note
    FROM drawn,
        LATERAL (SELECT start + floor(((h >> 20) & 1048575)::float8 / 1048576 * (days + 1))::int
                 AS held_on) AS day
    WHERE (h & 1048575)::float8 / 1048576 < keep
    ORDER BY 1  -- in the unique index's order: its inserts append instead of landing anywhere
), written AS (
    INSERT INTO meetings (code, org_id, kind, held_on, source, attendance, note)
    SELECT code, org_id, kind, held_on, source, attendance, note FROM made
    ON CONFLICT DO NOTHING
)
SELECT count(*) FROM made
