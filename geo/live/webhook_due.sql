-- Deliveries due now, oldest first, with their webhook's address and secret.
SELECT d.id, d.event::text AS event, d.attempts, w.url, w.secret
FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND w.active
ORDER BY d.next_attempt_at, d.id
LIMIT $1
