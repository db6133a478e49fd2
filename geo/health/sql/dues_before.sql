-- The month's dues before a correction.
SELECT id, code, org_id, month, paid_share, arrears_count FROM dues_months
WHERE org_id = $1 AND month = $2
