-- May this member ({member}) check in to the activity ({activity})? Registered for it (not
-- waitlisted), or invited ({invited}: geo.scope.attendable over `a`, the one rule: their branch or
-- an organisation above it organises or is invited to the activity). No row: no member.
SELECT m.id,
       EXISTS (SELECT 1 FROM registrations r WHERE r.activity_id = {activity} AND r.member_id = m.id
               AND r.status = 'registered') AS registered,
       EXISTS (SELECT 1 FROM activities a WHERE a.id = {activity} AND {invited}) AS invited
FROM members m WHERE m.id = {member}
