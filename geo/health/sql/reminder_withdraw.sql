-- Withdraw reminders whose items were fulfilled or replaced by a later due date ($1 ids,
-- $2 reasons).
UPDATE reminders r SET state = 'withdrawn', withdrawn_at = now(), withdrawn_reason = n.why
FROM unnest($1::bigint[], $2::text[]) AS n(i, why)
WHERE r.id = n.i AND r.state = 'open'
