"""Deterministic writers: the same rows give the same bytes (fixed rounding, order, no timestamps)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from geo.samples.area import Area

LONLAT_DECIMALS = 7  # ~1 cm


def lonlat_frame(area: Area, frame: pd.DataFrame) -> pd.DataFrame:
    """Replace metric x/y columns by lon/lat in WGS84, rounded."""
    lon, lat = area.to_lonlat(frame["x"].to_numpy(), frame["y"].to_numpy())
    out = frame.drop(columns=["x", "y"])
    out["lon"] = np.round(lon, 6)
    out["lat"] = np.round(lat, 6)
    return out


def write_csv(frame: pd.DataFrame, columns: Sequence[str], path: Path) -> None:
    """UTF-8 CSV with exactly these columns, in this order, LF line ends."""
    frame.loc[:, list(columns)].to_csv(
        path, index=False, encoding="utf-8", lineterminator="\n", float_format="%.6f"
    )


def _coords(ring: np.ndarray) -> str:
    return (
        "["
        + ",".join(f"[{x:.{LONLAT_DECIMALS}f},{y:.{LONLAT_DECIMALS}f}]" for x, y in ring.tolist())
        + "]"
    )


def _props(props: dict[str, object]) -> str:
    return json.dumps(props, ensure_ascii=False, separators=(",", ":"))


def write_features(
    path: Path, name: str, features: Iterable[tuple[str, str, dict[str, object]]]
) -> int:
    """A GeoJSON FeatureCollection, one feature per line; features are (type, coordinates json, props)."""
    n = 0
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write('{"type":"FeatureCollection","name":' + json.dumps(name) + ',"features":[\n')
        for gtype, coords, props in features:
            fh.write(("," if n else "") + '{"type":"Feature","properties":' + _props(props))
            fh.write(',"geometry":{"type":"' + gtype + '","coordinates":' + coords + "}}\n")
            n += 1
        fh.write("]}\n")
    return n


def polygon_json(quad: np.ndarray) -> str:
    """Coordinates of a closed single-ring polygon from its corners (k, 2)."""
    return "[" + _coords(np.vstack([quad, quad[:1]])) + "]"


def line_json(points: np.ndarray) -> str:
    """Coordinates of a line string."""
    return _coords(points)


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
