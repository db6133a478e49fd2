-- A member record's id and branch by its external id.
SELECT id, branch_id FROM members WHERE external_id = $1
