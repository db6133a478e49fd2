-- The activity of a check-in and the distance to it from the phone's position ($2, $3; NULL when
-- the phone gave none).
SELECT a.id, a.title, a.organiser_id, a.starts_at, a.ends_at, a.status,
       ST_Distance(a.geom::geography, ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography) AS distance_m
FROM activities a WHERE a.id = $1
