-- Buildings a written organisation names by code (no point of their own).
SELECT b.code, b.id, NULL::float8 AS lon, NULL::float8 AS lat
FROM buildings b WHERE b.code = ANY($1::text[])
