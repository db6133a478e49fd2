-- May the member register for the activity ({activity})? {invited}: geo.scope.attendable over `a`,
-- the one rule of who may attend (their branch or an organisation above it organises the activity
-- or is invited to it). No row: no such activity.
SELECT {invited} AS attendable FROM activities a WHERE a.id = {activity}
