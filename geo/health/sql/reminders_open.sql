-- Every open reminder (the run withdraws those no longer wanted).
SELECT id, user_id, org_id, rule_id, due_on FROM reminders WHERE state = 'open'
