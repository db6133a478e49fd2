"""Read buildings (with the party organisations that sit in them) and data versions from PostGIS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
import shapely

from geo.db.versions import VERSIONS_SQL, parse_versions
from tiles.threed.content import Features
from tiles.versions import table_versions

VERSIONED = ("buildings", "organisations")  # the tileset depends on both tables

BUILDINGS_SQL = """
SELECT b.id, b.code, coalesce(b.name, ''), coalesce(b.use, ''), b.height_m,
       ST_AsBinary(b.geom), coalesce(o.names, '')
FROM buildings b
LEFT JOIN (
    SELECT building_id, string_agg(name, '、' ORDER BY code) AS names
    FROM organisations WHERE building_id IS NOT NULL GROUP BY building_id
) o ON o.building_id = b.id
ORDER BY b.id
"""


@dataclass
class Buildings:
    """All buildings as columns; `geoms` are shapely MultiPolygons in EPSG:4326."""

    id: npt.NDArray[np.int64]
    code: list[str]
    name: list[str]
    use: list[str]
    height: npt.NDArray[np.float64]
    geoms: npt.NDArray[np.object_]
    party_org: list[str]

    def __len__(self) -> int:
        return len(self.id)

    def features(self, idx: npt.NDArray[np.int64]) -> Features:
        """Batch-table attributes of the buildings at `idx`, in that order."""
        return Features(
            id=[int(self.id[i]) for i in idx],
            code=[self.code[i] for i in idx],
            name=[self.name[i] for i in idx],
            height=[float(self.height[i]) for i in idx],
            use=[self.use[i] for i in idx],
            has_party_org=[bool(self.party_org[i]) for i in idx],
            party_org=[self.party_org[i] for i in idx],
        )


def versions_of(conn: psycopg.Connection) -> dict[str, int]:
    """Data versions of the tables the tileset depends on (tiles/versions.py's one query)."""
    rows = conn.execute(VERSIONS_SQL).fetchall()
    return table_versions(parse_versions(rows), VERSIONED)


def current_versions(url: str) -> dict[str, int]:
    """Data versions now."""
    with psycopg.connect(url) as conn:
        return versions_of(conn)


def read_buildings(url: str) -> tuple[Buildings, dict[str, int]]:
    """Every building and the data versions, read in one snapshot (REPEATABLE READ)."""
    with psycopg.connect(url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            versions = versions_of(conn)
            rows = conn.execute(BUILDINGS_SQL).fetchall()
    cols: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [()] * 7
    buildings = Buildings(
        id=np.array(cols[0], dtype=np.int64),
        code=list(cols[1]),
        name=list(cols[2]),
        use=list(cols[3]),
        height=np.array(cols[4], dtype=np.float64),
        geoms=shapely.from_wkb(np.array(cols[5], dtype=object))
        if rows
        else np.array([], dtype=object),
        party_org=list(cols[6]),
    )
    return buildings, versions
