-- How many open, unread reminders a user has (the bell's count).
SELECT count(*) FROM reminders WHERE user_id = $1 AND state = 'open' AND read_at IS NULL
