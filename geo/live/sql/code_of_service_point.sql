SELECT code FROM service_points WHERE id = $1::bigint
