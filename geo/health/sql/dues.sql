-- Dues months up to the month of $1.
SELECT org_id, month, arrears_count FROM dues_months
WHERE month <= $1
ORDER BY org_id, month
