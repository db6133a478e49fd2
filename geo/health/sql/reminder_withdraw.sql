-- Withdraw a reminder whose item was fulfilled (or replaced by a later due date).
UPDATE reminders SET state = 'withdrawn', withdrawn_at = now(), withdrawn_reason = $2
WHERE id = $1 AND state = 'open'
