"""organisations.csv (all at once: bounded by the organisations) and members.csv (streamed in
chunks of CHUNK rows, each from its own seed: memory never grows with the members)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from geo.samples.generate import MEMBER_COLUMNS, ORG_COLUMNS
from geo.samples.names import person_names
from geo.samples.national.layout import around
from geo.samples.national.spec import CHUNK, TAG, part_rng, phones
from geo.samples.national.tree import LEVELS, Tree
from geo.samples.writers import write_csv
from geo.vocab import MEMBER_STATUSES

Advance = Callable[[int], None]
# years since founding, per level of the tree
FOUNDED_YEARS = {
    "province": (60, 76),
    "city": (50, 76),
    "district": (40, 70),
    "street": (25, 45),
    "community": (10, 35),
    "branch": (1, 18),
}
HOME_SPREAD_M = 400.0  # members live around their branch
STATUS_SHARE = (0.86, 0.06, 0.08)  # 正式, 预备, 流动


def building_code(index: np.ndarray) -> np.ndarray:
    """Codes of buildings by their index in buildings.geojson."""
    return np.char.add("NB", np.char.zfill((index + 1).astype(str), 7))


def _days_ago(
    rng: np.random.Generator, today: np.datetime64, lo: int, hi: int, n: int
) -> np.ndarray:
    return today - rng.integers(lo, hi, n).astype("timedelta64[D]")


def _level_frame(
    tree: Tree, i: int, today: np.datetime64, rng: np.random.Generator
) -> pd.DataFrame:
    level = tree.levels[i]
    n = len(level)
    parent = np.full(n, "") if i == 0 else tree.levels[i - 1].code[level.parent]
    building = np.full(n, "")
    if LEVELS[i] == "community":  # seated in the first building of the community
        first = np.concatenate([[0], np.cumsum(tree.buildings)[:-1]])
        building = np.where(tree.buildings > 0, building_code(first), "")
    lo, hi = FOUNDED_YEARS[LEVELS[i]]
    names = person_names(rng, n)
    contact = np.char.add(np.char.add(names, " "), phones(rng, n))
    return pd.DataFrame(
        {
            "code": level.code,
            "name": level.name,
            "type": level.type,
            "parent_code": parent,
            "lon": np.round(level.seat[:, 0], 6),
            "lat": np.round(level.seat[:, 1], 6),
            "building_code": building,
            "founded": _days_ago(rng, today, lo * 365, hi * 365, n).astype(str),
            "contact": contact,
        }
    )


def write_organisations(
    tree: Tree, today: np.datetime64, rng: np.random.Generator, path: Path
) -> int:
    """Every organisation, parents before children; the number written."""
    frame = pd.concat(
        [_level_frame(tree, i, today, rng) for i in range(len(LEVELS))], ignore_index=True
    )
    write_csv(frame, ORG_COLUMNS, path)
    return len(frame)


def _member_chunk(
    tree: Tree,
    ends: np.ndarray,
    span: tuple[int, int],
    today: np.datetime64,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Members start…stop-1: in branch order, living around their branch (流动 ones around
    another branch anywhere)."""
    branches = tree.levels[-1]
    idx = np.arange(*span)
    n = len(idx)
    which = np.searchsorted(ends, idx, side="right")
    status = np.asarray(MEMBER_STATUSES)[rng.choice(3, size=n, p=STATUS_SHARE)]
    roaming = status == "流动"
    home_of = np.where(roaming, rng.integers(0, len(branches), n), which)
    home = around(branches.seat[home_of], HOME_SPREAD_M, rng)
    joined = np.where(
        status == "预备",
        _days_ago(rng, today, 10, 365, n),
        _days_ago(rng, today, 366, 55 * 365, n),
    )
    return pd.DataFrame(
        {
            "external_id": np.char.add("NM", np.char.zfill((idx + 1).astype(str), 8)),
            "name": np.char.add(person_names(rng, n), TAG),
            "branch_code": branches.code[which],
            "status": status,
            "joined": joined.astype(str),
            "lon": np.round(home[:, 0], 6),
            "lat": np.round(home[:, 1], 6),
        }
    )


def write_members(tree: Tree, seed: int, today: np.datetime64, path: Path, advance: Advance) -> int:
    """members.csv, CHUNK rows at a time; the number written."""
    ends = np.cumsum(tree.members)
    total = int(ends[-1])
    with path.open("w", encoding="utf-8", newline="") as fh:
        for i, start in enumerate(range(0, total, CHUNK)):
            stop = min(total, start + CHUNK)
            frame = _member_chunk(tree, ends, (start, stop), today, part_rng(seed, "members", i))
            frame.loc[:, list(MEMBER_COLUMNS)].to_csv(
                fh, header=i == 0, index=False, lineterminator="\n", float_format="%.6f"
            )
            advance(stop - start)
    return total
