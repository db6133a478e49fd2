-- One organisation's name and type (none: unknown).
SELECT id, code, name, type FROM organisations WHERE id = $1
