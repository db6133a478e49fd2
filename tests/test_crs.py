"""GCJ-02 / BD-09 / EPSG conversions against published reference pairs.

Reference pairs (lon, lat) come from:
- googollee/eviltransform, python/test.py, TESTS (WGS84 → GCJ-02: Shanghai, Shenzhen, Beijing).
- wandergis/coordtransform, test/app.js, the documented results for the point (116.404, 39.915)
  (Tiananmen, also the default centre of Baidu's map API demos): wgs84togcj02, gcj02tobd09,
  bd09togcj02 and the one-step gcj02towgs84.
eviltransform's TESTS_bd pairs are not used: they were produced by an old version of its bd2gcj
that used sin(y·π) instead of sin(y·π·3000/180) and disagree with Baidu's formula by ~10 m.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from geo import crs
from geo.errors import InvalidInput

# (wgs_lon, wgs_lat, gcj_lon, gcj_lat) from eviltransform's python/test.py
EVILTRANSFORM = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # Beijing
]
# coordtransform test/app.js, input (116.404, 39.915)
CT_IN = (116.404, 39.915)
CT_WGS_TO_GCJ = (116.41024449916938, 39.91640428150164)
CT_GCJ_TO_BD = (116.41036949371029, 39.92133699351021)
CT_BD_TO_GCJ = (116.39762729119315, 39.90865673957631)
CT_GCJ_TO_WGS_ONE_STEP = (116.39775550083061, 39.91359571849836)


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Haversine distance in metres between two lon/lat points."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371008.8 * math.asin(math.sqrt(h))


def pair(xy: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
    return float(xy[0]), float(xy[1])


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), EVILTRANSFORM)
def test_wgs84_to_gcj02_matches_eviltransform(wlon, wlat, glon, glat):
    lon, lat = crs.wgs84_to_gcj02(wlon, wlat)
    assert lon == pytest.approx(glon, abs=1e-9)
    assert lat == pytest.approx(glat, abs=1e-9)


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), EVILTRANSFORM)
def test_gcj02_to_wgs84_is_sub_centimetre(wlon, wlat, glon, glat):
    back = pair(crs.gcj02_to_wgs84(glon, glat))
    assert metres(back, (wlon, wlat)) < 0.01
    # and the forward of the inverse gives the input back (sub-millimetre)
    assert metres(pair(crs.wgs84_to_gcj02(*back)), (glon, glat)) < 0.001


def test_coordtransform_pairs():
    assert metres(pair(crs.wgs84_to_gcj02(*CT_IN)), CT_WGS_TO_GCJ) < 0.001
    assert metres(pair(crs.gcj02_to_bd09(*CT_IN)), CT_GCJ_TO_BD) < 0.001
    # coordtransform's bd09togcj02 is the one-step inverse; ours is exact, a few cm away
    bd_back = pair(crs.bd09_to_gcj02(*CT_IN))
    assert metres(bd_back, CT_BD_TO_GCJ) < 0.1
    assert metres(pair(crs.gcj02_to_bd09(*bd_back)), CT_IN) < 0.001
    # the one-step GCJ inverse is up to ~2 m off; the exact one agrees within that and round-trips
    wgs = pair(crs.gcj02_to_wgs84(*CT_IN))
    assert metres(wgs, CT_GCJ_TO_WGS_ONE_STEP) < 3
    assert metres(pair(crs.wgs84_to_gcj02(*wgs)), CT_IN) < 0.001


def test_round_trips_vectorised_over_china():
    rng = np.random.default_rng(7)
    lon = rng.uniform(74, 134, 100_000)
    lat = rng.uniform(4, 53, 100_000)
    for fwd, inv in (
        (crs.wgs84_to_gcj02, crs.gcj02_to_wgs84),
        (crs.gcj02_to_bd09, crs.bd09_to_gcj02),
        (crs.wgs84_to_bd09, crs.bd09_to_wgs84),
    ):
        blon, blat = inv(*fwd(lon, lat))
        assert np.max(np.abs(blon - lon)) < 1e-9
        assert np.max(np.abs(blat - lat)) < 1e-9


def test_outside_china_gcj_is_identity():
    lon, lat = crs.wgs84_to_gcj02([2.35, -74.0], [48.85, 40.7])
    assert lon.tolist() == [2.35, -74.0] and lat.tolist() == [48.85, 40.7]
    lon, lat = crs.gcj02_to_wgs84([2.35], [48.85])
    assert lon.tolist() == [2.35]


def test_hangzhou_offset_is_hundreds_of_metres():
    # the GCJ-02 shift in Hangzhou is roughly 500 m (mostly westward)
    wgs = (120.15, 30.25)
    gcj = pair(crs.wgs84_to_gcj02(*wgs))
    assert 300 < metres(wgs, gcj) < 800
    assert metres(pair(crs.to_wgs84(*gcj, "gcj02")), wgs) < 0.01
    bd = pair(crs.wgs84_to_bd09(*wgs))
    assert metres(pair(crs.to_wgs84(*bd, "BD09")), wgs) < 0.01


@pytest.mark.parametrize(
    ("code", "x", "y"),
    [
        ("EPSG:3857", 13375036.8, 3535725.7),  # web mercator of ~ (120.15, 30.25)
        ("EPSG:32650", 803121.6, 3350688.3),  # UTM 50N
        ("EPSG:4490", 120.15, 30.25),  # CGCS2000 geographic: same as WGS84 to ~cm
        ("EPSG:4549", 514436.5, 3347836.6),  # CGCS2000 / 3-degree GK CM 120E
    ],
)
def test_epsg_codes(code, x, y):
    from pyproj import Transformer

    expected = Transformer.from_crs(code, 4326, always_xy=True).transform(x, y)
    got = pair(crs.to_wgs84(x, y, code))
    assert metres(got, expected) < 1e-6
    assert metres(got, (120.15, 30.25)) < 1  # and it lands in Hangzhou


def test_normalise_crs():
    assert crs.normalise_crs(None) == "EPSG:4326"
    assert crs.normalise_crs("wgs84") == "EPSG:4326"
    assert crs.normalise_crs("GCJ-02") == "gcj02"
    assert crs.normalise_crs("bd09ll") == "bd09"
    assert crs.normalise_crs("EPSG:3857") == "EPSG:3857"
    with pytest.raises(InvalidInput, match="unknown CRS"):
        crs.normalise_crs("EPSG:999999")


def test_geometries_to_wgs84():
    import shapely

    pts = np.array([shapely.Point(13375036.8, 3535725.7)], dtype=object)
    out = crs.geometries_to_wgs84(pts, "EPSG:3857")
    assert abs(out[0].x - 120.15) < 0.01 and abs(out[0].y - 30.25) < 0.01
