-- Each new reminder's event ($1 reminder ids, $2 event ids).
UPDATE reminders r SET event_id = n.e
FROM unnest($1::bigint[], $2::bigint[]) AS n(i, e)
WHERE r.id = n.i
