"""Loading generated samples whose optional parts are empty (issue 15's `--panoramas 0` bug)."""

from __future__ import annotations

import csv
from pathlib import Path

from geo.samples import SampleSpec, generate
from geo.samples.generate import PANO_COLUMNS
from geo.samples.load import load_samples, stage_panoramas

TODAY = "2026-06-15"
SMALL = {"members": 30, "buildings": 60, "organisations": 6, "service_points": 5, "activities": 4}


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh))


def test_no_panoramas_stages_a_csv_with_every_column(tmp_path: Path) -> None:
    """The staged panoramas.csv of a generation without panoramas keeps the full header."""
    out = tmp_path / "s"
    generate(SampleSpec(seed=9, today=TODAY, panoramas=0, **SMALL), out)
    assert _header(out / "panoramas.csv") == list(PANO_COLUMNS)
    staged = stage_panoramas(out, tmp_path / "pano")
    assert _header(staged) == list(PANO_COLUMNS)
    assert staged.read_text(encoding="utf-8").count("\n") == 1  # the header alone


def test_no_panoramas_loads(clean_db: str, tmp_path: Path) -> None:
    """`djmap samples generate --panoramas 0` then `samples load`: every file loads, none."""
    out = tmp_path / "s"
    generate(SampleSpec(seed=9, today=TODAY, panoramas=0, **SMALL), out)
    result = load_samples(clean_db, out, tmp_path / "pano", progress=False)
    assert not result.skipped
    assert result.counts["panoramas"] == 0
    assert result.counts["members"] == SMALL["members"]
    assert result.counts["service_points"] == SMALL["service_points"]
