-- The outcome of one attempt: delivered, pending again after a wait, or failed for good.
UPDATE webhook_deliveries
SET status = $2,
    attempts = $3,
    last_status = $4,
    last_error = $5,
    next_attempt_at = now() + make_interval(secs => $6),
    delivered_at = CASE WHEN $2 = 'delivered' THEN now() END
WHERE id = $1
