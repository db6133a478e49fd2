"""Member demand of an analysis: the caller's privacy atoms spread over the buildings.

The spread (geo/privacy/atoms.py) depends only on the caller's member scope and on the members'
and buildings' data, never on the request, so it is kept per (database, scope, data versions) in
a small LRU: a write to either table moves its data version, and the next run rebuilds it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import psycopg

from geo.analysis.demand import load_buildings, load_members
from geo.analysis.scoping import scope_condition
from geo.db.versions import VERSIONS_SQL, parse_versions
from geo.privacy.atoms import Atoms, Spread, spread
from geo.scope import Principal

CACHE_SIZE = 8
TABLES = ("members", "buildings")  # what the spread is made from
_cache: OrderedDict[Hashable, Spread] = OrderedDict()
_lock = threading.Lock()


def _key(conn: psycopg.Connection, principal: Principal) -> Hashable:
    scope = scope_condition(principal, "members", "m")
    shape = None if scope is None else (scope.shape, tuple(map(str, scope.params)))
    known = parse_versions(conn.execute(VERSIONS_SQL).fetchall())  # the one statement and parser
    versions = tuple(known.get(table, (0, 0))[0] for table in TABLES)
    where = (conn.info.host, conn.info.port, conn.info.dbname)
    return where, shape, versions


def member_spread(conn: psycopg.Connection, principal: Principal, client: Any = None) -> Spread:
    """The caller's atoms (every member in scope, no area) spread over every building. Run it
    inside one snapshot (REPEATABLE READ) so the versions read match the rows read. With a Dask
    `client` the per-point work runs on its cluster (geo/analysis/spread_dask.py): same spread."""
    key = _key(conn, principal)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    everyone = load_members(conn, None, principal)
    places = load_buildings(conn, None, population=True)
    if client is not None:
        from geo.analysis.spread_dask import spread_dask  # dask loads only when used

        found = spread_dask(client, everyone, places)
    else:
        found = spread(Atoms.of(everyone.lon, everyone.lat), places.lon, places.lat, places.weight)
    with _lock:
        _cache[key] = found
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return found
