-- An activity's invited organisations become $2: the others removed, the new ones added.
WITH gone AS (
    DELETE FROM activity_invitations WHERE activity_id = $1::bigint AND org_id <> ALL($2::bigint[])
)
INSERT INTO activity_invitations (activity_id, org_id)
SELECT $1::bigint, x FROM unnest($2::bigint[]) AS x
ON CONFLICT DO NOTHING
