-- An activity's registered and waitlisted members who may attend it ({attends}: geo.scope.attends
-- over `r` and `a`: a registration of a member who may not, made before registration applied the
-- rule or its invitation withdrawn since, is not invited and not counted) and its check-ins
-- (exact: publish through geo.privacy.shown to anyone but the organiser).
SELECT count(*) FILTER (WHERE r.status = 'registered') AS registered,
       count(*) FILTER (WHERE r.status = 'waitlisted') AS waitlisted,
       (SELECT count(*) FROM checkins c WHERE c.activity_id = {activity}) AS attended
FROM registrations r JOIN activities a ON a.id = r.activity_id
WHERE r.activity_id = {activity} AND r.status IN ('registered', 'waitlisted') AND {attends}
