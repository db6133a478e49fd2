"""`djmap tiles seed` and `djmap tiles export --format pmtiles`, read back and decoded."""

from __future__ import annotations

import gzip
from pathlib import Path

import mapbox_vector_tile
import pytest
from pmtiles.reader import MmapSource, Reader, all_tiles
from test_tiles_mvt import seed_points
from typer.testing import CliRunner

from api.cli import app


@pytest.fixture
def home(clean_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DJMAP_HOME", str(tmp_path))
    seed_points(clean_db, 500, spread=0.05)
    return tmp_path


def test_seed_fills_the_tile_cache(home: Path) -> None:
    result = CliRunner().invoke(
        app, ["tiles", "seed", "--layer", "service_points", "--zooms", "0-12"]
    )
    assert result.exit_code == 0, result.output
    files = list((home / "tiles" / "service_points").rglob("*.gz"))
    assert {int(p.parent.parent.name) for p in files} == set(range(13))


def test_export_pmtiles_accounts_for_every_feature(home: Path) -> None:
    out = home / "sp.pmtiles"
    result = CliRunner().invoke(
        app,
        [
            "tiles",
            "export",
            "--layer",
            "service_points",
            "--format",
            "pmtiles",
            "--zooms",
            "0-14",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    with out.open("rb") as f:
        source = MmapSource(f)
        reader = Reader(source)
        assert reader.header()["max_zoom"] == 14
        assert reader.metadata()["vector_layers"][0]["id"] == "service_points"
        per_zoom: dict[int, int] = {}
        for (z, _, _), data in all_tiles(source):
            features = mapbox_vector_tile.decode(gzip.decompress(data))["service_points"][
                "features"
            ]
            n = sum(
                f["properties"]["count"] if f["properties"].get("cluster") else 1 for f in features
            )
            per_zoom[z] = per_zoom.get(z, 0) + n
    assert per_zoom == dict.fromkeys(range(15), 500)


def test_bad_arguments_exit_cleanly(home: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["tiles", "seed", "--layer", "nope"]).exit_code == 1
    assert runner.invoke(app, ["tiles", "seed", "--layer", "roads", "--zooms", "x"]).exit_code == 1
    out = str(home / "x.pmtiles")
    assert (
        runner.invoke(
            app, ["tiles", "export", "--layer", "roads", "--format", "mbtiles", out]
        ).exit_code
        == 1
    )
