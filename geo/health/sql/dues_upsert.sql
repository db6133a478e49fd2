-- A month's dues of an organisation, entered or corrected by the secretary; xmax = 0: new row.
INSERT INTO dues_months (code, org_id, month, paid_share, arrears_count)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (org_id, month) DO UPDATE
SET paid_share = excluded.paid_share, arrears_count = excluded.arrears_count
RETURNING id, code, org_id, month, paid_share, arrears_count, (xmax = 0) AS created
