"""What the admin screens (`/admin`, `/api/admin/…`) do: users and roles, embed keys, screen keys.

Async on the API's asyncpg connection; each change is audited in its own transaction with
`geo.live.audit.record`, as the feature writes are. The CLI keeps its sync psycopg functions
(geo/users.py, geo/screen/keys.py); the rules (a user's scope, an origin) are shared with it.
"""
