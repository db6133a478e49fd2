"""The health scores' table is `org_health_scores` (issue 10): revision 0006 named it like the
health layer. The table, its constraints, its version trigger and its `data_versions` row are
renamed (the version itself is kept, so caches keyed on it stay valid).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from geo.db.migrate import run_sql
from geo.models import Base

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

OLD, NEW = "org_health", "org_health_scores"  # as 0006 created it, as the models name it now
# The names derived from the table's: constraints (geo.models.base NAMING, check, one_of) and
# the version trigger (0001_version_trigger.sql).
PARTS = {"pkey": "pkey", "fkey": "org_id_fkey", "status": "status_check", "score": "score_check"}
PARTS["trigger"] = "version"


def _rename(old: str, new: str) -> None:
    """The table and what is named after it, `old` to `new`, and its data version's row."""
    names = {"old": old, "new": new}
    for key, suffix in PARTS.items():
        names[f"old_{key}"], names[f"new_{key}"] = f"{old}_{suffix}", f"{new}_{suffix}"
    run_sql(op.get_bind(), "0011_rename_scores.sql", **names)
    versions = Base.metadata.tables["data_versions"]
    op.execute(sa.update(versions).where(versions.c.table_name == old).values(table_name=new))


def upgrade() -> None:
    """`org_health` becomes `org_health_scores`."""
    _rename(OLD, NEW)


def downgrade() -> None:
    """Back to the name 0006 gave it."""
    _rename(NEW, OLD)
