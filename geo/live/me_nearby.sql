-- Scheduled activities not over yet and starting within the horizon that the member is offered
-- ({offered}: geo.scope.offered over `a`, as /api/nearest: they may attend it by the one rule,
-- geo.scope.attendable, or registered for it), nearest to a point first, with the member's own
-- registration state: not_invited when they registered but may not attend ({invited}:
-- geo.scope.attendable; a registration made before registration applied the rule).
SELECT a.id, a.title, a.kind, a.starts_at, a.ends_at, a.capacity, a.service_point_id,
       sp.name AS service_point, o.name AS organiser,
       ST_X(a.geom) AS lon, ST_Y(a.geom) AS lat,
       ST_Distance(a.geom::geography, ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326)::geography)
           AS distance_m,
       CASE WHEN r.status IN ('registered', 'waitlisted') AND NOT {invited} THEN 'not_invited'
            ELSE r.status END AS my_status
FROM activities a
JOIN organisations o ON o.id = a.organiser_id
LEFT JOIN service_points sp ON sp.id = a.service_point_id
LEFT JOIN registrations r ON r.activity_id = a.id AND r.member_id = {member}
WHERE a.status = 'scheduled' AND a.ends_at > {now}
  AND a.starts_at < {now} + {days} * interval '1 day'
  AND {offered}
ORDER BY distance_m, a.starts_at, a.id
LIMIT {limit}
