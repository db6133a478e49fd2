-- Hold a scenario while it is promoted (a second promotion waits, then finds it gone).
SELECT id FROM scenarios WHERE id = $1 FOR UPDATE
