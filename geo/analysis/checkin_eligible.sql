-- May this member ({member}) check in to the activity ({activity})? Only when they may attend it
-- ({invited}: geo.scope.attendable over `a`, the one rule: their branch or an organisation above
-- it organises or is invited to the activity). A registration alone admits no one: one made
-- before registration applied that rule is not invited. No row: no member.
SELECT m.id,
       EXISTS (SELECT 1 FROM activities a WHERE a.id = {activity} AND {invited}) AS invited
FROM members m WHERE m.id = {member}
