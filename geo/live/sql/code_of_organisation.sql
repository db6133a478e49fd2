SELECT code FROM organisations WHERE id = $1::bigint
