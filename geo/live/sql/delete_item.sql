DELETE FROM {table} AS t WHERE t.id = {id}
