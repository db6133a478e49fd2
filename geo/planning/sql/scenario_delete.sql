DELETE FROM scenarios WHERE id = $1
