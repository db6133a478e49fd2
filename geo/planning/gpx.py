"""GPX 1.1 of a route: its stops as waypoints and its path as one track (a segment per line)."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET

NS = "http://www.topografix.com/GPX/1/1"


def _lines(geometry: dict[str, Any]) -> list[list[list[float]]]:
    if geometry["type"] == "LineString":
        return [geometry["coordinates"]]
    return list(geometry["coordinates"])


def to_gpx(name: str, stops: list[dict[str, Any]], geometry: dict[str, Any]) -> bytes:
    """The GPX document (UTF-8 bytes) of a route named `name`."""
    root = ET.Element("gpx", {"version": "1.1", "creator": "djmap 党建地图", "xmlns": NS})
    meta = ET.SubElement(root, "metadata")
    ET.SubElement(meta, "name").text = name
    for s in stops:
        wpt = ET.SubElement(root, "wpt", {"lat": f"{s['lat']:.7f}", "lon": f"{s['lon']:.7f}"})
        ET.SubElement(wpt, "name").text = f"{s['seq']}. {s['name']}"
        ET.SubElement(wpt, "type").text = str(s.get("kind") or "")
    trk = ET.SubElement(root, "trk")
    ET.SubElement(trk, "name").text = name
    for line in _lines(geometry):
        seg = ET.SubElement(trk, "trkseg")
        for lon, lat, *_ in line:
            ET.SubElement(seg, "trkpt", {"lat": f"{lat:.7f}", "lon": f"{lon:.7f}"})
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
