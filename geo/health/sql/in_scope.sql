-- Whether organisation $2 is in the subtree of $1.
SELECT $2::bigint IN (SELECT s.id FROM org_subtree($1::bigint) AS s)
