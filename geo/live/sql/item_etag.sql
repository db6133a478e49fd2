-- The ETag of one stored item (GET …/items/{fid}): the hash of its whole row.
SELECT md5(t::text) FROM {table} AS t WHERE t.id = {id}
