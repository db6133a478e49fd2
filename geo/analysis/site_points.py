"""The service points a coverage run used, as GeoJSON points (issue 14 §1): the /coverage page
draws a scenario's side from these, not from the live service points layer.

Each point's `change` says what the scenario did to it: `unchanged`, `added` (ids < 0), `moved`
(at its new place, `from` its live place when that lies in the run's box), `set` (its capacity,
hours, name or kind changed) or `removed` (at its live place; the run did not count it). Without
a scenario every point is `unchanged`. Service points are public: nothing here is member-derived.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from geo.analysis.demand import Points

if TYPE_CHECKING:
    from geo.planning.scenario_changes import Changes


def _feature(label: dict[str, Any], change: str, **extra: Any) -> dict[str, Any]:
    props = {
        "layer": "service_point",
        "service_point_id": label["service_point_id"],
        "name": label["name"],
        "kind": label["kind"],
        "change": change,
        **extra,
    }
    point = {"type": "Point", "coordinates": [label["lon"], label["lat"]]}
    return {"type": "Feature", "geometry": point, "properties": props}


def features(used: Points, live: Points | None, changes: Changes | None) -> dict[str, Any]:
    """The points `used` (the run's, by id) with what `changes` did to each, then the removed
    ones found in `live` (the live points in the same box)."""
    moved = {s.id for s in changes.patched if s.lon is not None} if changes else set()
    patched = {s.id for s in changes.patched} if changes else set()
    was = {lab["service_point_id"]: lab for lab in live.labels} if live else {}
    out = []
    for lab in used.labels:
        sid = lab["service_point_id"]
        if sid < 0:
            out.append(_feature(lab, "added"))
        elif sid in moved:
            old = was.get(sid)
            extra = {"from": [old["lon"], old["lat"]]} if old else {}
            out.append(_feature(lab, "moved", **extra))
        else:
            out.append(_feature(lab, "set" if sid in patched else "unchanged"))
    gone = set(changes.removed) if changes else set()
    out += [_feature(lab, "removed") for sid, lab in sorted(was.items()) if sid in gone]
    return {"type": "FeatureCollection", "features": out}
