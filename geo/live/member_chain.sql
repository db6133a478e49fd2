-- A member's branch and every organisation above it (those that invite the branch).
WITH RECURSIVE up(id, parent_id) AS (
    SELECT o.id, o.parent_id FROM organisations o
    WHERE o.id = (SELECT m.branch_id FROM members m WHERE m.id = $1)
    UNION
    SELECT p.id, p.parent_id FROM organisations p JOIN up ON p.id = up.parent_id
)
SELECT up.id FROM up
