-- A meeting entered by the secretary (a record of the same kind on the same day: none).
INSERT INTO meetings (code, org_id, kind, held_on, source, activity_id, attendance, note)
VALUES ($1, $2, $3, $4, 'entry', $5, $6, $7)
ON CONFLICT (code) DO NOTHING
RETURNING id, code, org_id, kind, held_on, source, activity_id, attendance, note
