SELECT code FROM buildings WHERE id = $1::bigint
