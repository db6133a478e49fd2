-- Webhooks with how many of their deliveries are in each state.
SELECT w.id, w.url, w.events, w.active, w.created_at,
       count(*) FILTER (WHERE d.status = 'pending') AS pending,
       count(*) FILTER (WHERE d.status = 'delivered') AS delivered,
       count(*) FILTER (WHERE d.status = 'failed') AS failed
FROM webhooks w LEFT JOIN webhook_deliveries d ON d.webhook_id = w.id
GROUP BY w.id
ORDER BY w.id
