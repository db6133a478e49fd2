"""Walking service areas kept per site (geo/analysis/service_areas.py): an area taken from the
LRU equals the one computed with every site at once, a batch computes only the sites it has not
seen, and a write to the roads makes every area be computed again."""

from __future__ import annotations

import numpy as np
import psycopg
from test_coverage_walk import BBOX, R, net  # noqa: F401  (the street grid fixture)

from geo.analysis import service_areas


def _areas(url: str, sites: list) -> service_areas.Areas:
    lon = np.array([s[0] for s in sites])
    lat = np.array([s[1] for s in sites])
    with psycopg.connect(url) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return service_areas.walk_areas(conn, lon, lat, float(R), tuple(BBOX))


def test_kept_areas_equal_computed_ones(net, monkeypatch) -> None:  # noqa: F811
    sites = [*net["sites"], (0.0, 0.0)]  # the last is far off the network
    service_areas._cache.clear()
    whole = _areas(net["url"], sites)
    assert sorted(whole.polygons) == [0, 1, 2] and whole.off_network == [3]
    service_areas._cache.clear()
    computed: list[int] = []
    real = service_areas._walk_areas

    def counted(conn, lon, lat, *args):  # type: ignore[no-untyped-def]
        computed.append(len(lon))
        return real(conn, lon, lat, *args)

    monkeypatch.setattr(service_areas, "_walk_areas", counted)
    first = _areas(net["url"], sites[:1])
    again = _areas(net["url"], [sites[2], sites[0], sites[3], sites[1]])
    assert computed == [1, 3]  # the second batch computed only what the first had not
    assert again.off_network == [2]
    for i, j in ((0, 2), (1, 0), (3, 1)):
        assert again.polygons[i].equals_exact(whole.polygons[j], 1e-9)
    assert first.polygons[0].equals_exact(whole.polygons[0], 1e-9)
    _areas(net["url"], sites)
    assert computed == [1, 3]  # every area kept
    with psycopg.connect(net["url"]) as conn:
        conn.execute("UPDATE roads SET name = 'x' WHERE id = (SELECT min(id) FROM roads)")
    _areas(net["url"], sites)
    assert computed == [1, 3, 4]  # the roads moved on: every area computed again
