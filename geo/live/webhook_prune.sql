-- Finished deliveries (delivered, or failed after the last retry) older than $1 days go; pending
-- ones stay whatever their age. A finished delivery's next_attempt_at is its last attempt's time
-- (webhook_record.sql sets it with a wait of 0), so the (status, next_attempt_at) index serves.
-- The retention is longer than the events' 48 h: an event whose delivery went is gone as well,
-- so the dispatcher's catch-up (from the largest event_id left) can never enqueue it again.
DELETE FROM webhook_deliveries
WHERE status IN ('delivered', 'failed')
  AND next_attempt_at < now() - make_interval(days => $1::int)
