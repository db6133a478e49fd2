-- One statement: features when the tile holds at most {budget} of them, else clusters.
SELECT CASE WHEN (SELECT count(*) FROM (SELECT 1 FROM ({count_rows}) AS c LIMIT {budget}::bigint + 1) AS n) <= {budget}::bigint
       THEN ({features}) ELSE ({clusters}) END
