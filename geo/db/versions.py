"""The one statement that reads `data_versions`, and the one parser of its rows.

Every reader runs these: tiles/versions.py (`read_versions` and the VersionTracker, asyncpg) for
requests and builds, and the snapshots that must see versions and rows together on a psycopg
connection (3D Tiles, analysis' member demand), and `geo.db.data_versions` for the CLI and tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

# Each table's version (bumped by the write trigger) and the time of its last write in µs.
VERSIONS_SQL = (
    "SELECT table_name, version, (extract(epoch FROM updated_at) * 1e6)::bigint FROM data_versions"
)

Versions = dict[str, tuple[int, int]]


def parse_versions(rows: Iterable[Sequence[Any]]) -> Versions:
    """Table name → (version, last write in µs) from VERSIONS_SQL's rows."""
    return {str(n): (int(v), int(s)) for n, v, s in rows}
