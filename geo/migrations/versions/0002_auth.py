"""Auth: users with roles scoped to an organisation subtree, and embed keys for the portal.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = """
CREATE TABLE users (
    id             bigserial PRIMARY KEY,
    username       text NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 64),
    password_hash  text NOT NULL,
    role           text NOT NULL
                   CHECK (role IN ('public', 'member', 'leader', 'planner', 'steward', 'admin')),
    org_id         bigint REFERENCES organisations (id) ON DELETE CASCADE,
    member_id      bigint REFERENCES members (id) ON DELETE CASCADE,
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_login_at  timestamptz,
    CONSTRAINT users_member_has_member CHECK (role <> 'member' OR member_id IS NOT NULL)
);
COMMENT ON COLUMN users.org_id IS 'root of the organisation subtree the user is scoped to; NULL = whole district';
CREATE TABLE embed_keys (
    id               bigserial PRIMARY KEY,
    key              text NOT NULL UNIQUE CHECK (length(key) >= 16),
    name             text NOT NULL,
    allowed_origins  text[] NOT NULL DEFAULT '{}',
    active           boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL DEFAULT now()
);
"""


def upgrade() -> None:
    """Create users and embed_keys."""
    op.execute(UPGRADE)


def downgrade() -> None:
    """Drop users and embed_keys."""
    op.execute("DROP TABLE IF EXISTS embed_keys")
    op.execute("DROP TABLE IF EXISTS users")
