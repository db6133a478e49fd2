-- Whether organisation $1 exists, and whether it lies in the subtree under $2 (NULL: anywhere).
SELECT EXISTS (SELECT 1 FROM organisations WHERE id = $1) AS known,
       $2::bigint IS NULL OR $1 IN (SELECT id FROM org_subtree($2::bigint)) AS inside
