-- One delivery of one event to one webhook (once: a replay after a restart adds nothing).
INSERT INTO webhook_deliveries (webhook_id, event_id, event)
VALUES ($1, $2, $3::jsonb)
ON CONFLICT ON CONSTRAINT webhook_deliveries_once DO NOTHING
