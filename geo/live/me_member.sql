-- The member, their branch (its public point: where "nearby" starts) and their check-ins this
-- calendar year in Beijing time. Never the member's home.
SELECT m.id, m.name, m.status, o.id AS branch_id, o.name AS branch,
       ST_X(o.geom) AS lon, ST_Y(o.geom) AS lat,
       (SELECT count(*) FROM checkins c WHERE c.member_id = m.id
          AND c.checked_at >= date_trunc('year', $2::timestamptz AT TIME ZONE 'Asia/Shanghai')
                              AT TIME ZONE 'Asia/Shanghai') AS attended_this_year
FROM members m JOIN organisations o ON o.id = m.branch_id
WHERE m.id = $1
