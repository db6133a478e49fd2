-- An organisation's id by its code.
SELECT id FROM organisations WHERE code = $1
