"""The national generator (issue 15 §1): a five-level tree with streamed members, loaded by the
real `djmap samples load` path, same seed → same bytes, memory bounded whatever the members."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from typer.testing import CliRunner

from api.cli import app
from geo.samples.load import load_samples, table_counts
from geo.samples.national import NationalSpec, generate_national
from geo.samples.national.spec import CHUNK

TODAY = "2026-06-15"
SMALL = NationalSpec(
    seed=11, today=TODAY, members=20_000, organisations=2_000, service_points=300,
    buildings=4_000, activities=200, panoramas=1, provinces=2, boundaries="grid",
)  # fmt: skip
AREA_LEVELS = ("province", "city", "district")
# depth below the province committees → what the organisation stands for
DEPTH_OF = {0: "province", 1: "city", 2: "district", 3: "street", 4: "community", 5: "branch"}
TREE_SQL = """
WITH RECURSIVE t(id, code, type, depth) AS (
    SELECT id, code, type, 0 FROM organisations WHERE parent_id IS NULL
    UNION ALL
    SELECT o.id, o.code, o.type, t.depth + 1 FROM organisations o JOIN t ON o.parent_id = t.id
)
SELECT depth, count(*), array_agg(DISTINCT type ORDER BY type),
       min(split_part(code, '-', 1)), count(*) FILTER (WHERE code LIKE '%-S%')
FROM t GROUP BY depth ORDER BY depth
"""
MEMBER_BRANCH_SQL = (
    "SELECT o.type, count(*) FROM members m JOIN organisations o ON o.id = m.branch_id GROUP BY 1"
)
# Members of the large run of the memory test: held whole, they would weigh ~80 MB more than one
# chunk (measured: 20,000 → 1,000,000 members add 6 MB streamed, 162 MB held).
BIG = 500_000


@pytest.fixture(scope="module")
def national(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("national")
    generate_national(SMALL, out)
    return out


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _depths(orgs: pd.DataFrame) -> pd.Series:
    parent = dict(zip(orgs["code"], orgs["parent_code"].fillna(""), strict=True))
    depth = {}
    for code in orgs["code"]:
        d, cur = 0, parent[code]
        while cur:
            d, cur = d + 1, parent[cur]
        depth[code] = d
    return orgs["code"].map(depth)


def test_counts_match_the_parameters(national: Path) -> None:
    manifest = json.loads((national / "manifest.json").read_text(encoding="utf-8"))
    counts = manifest["counts"]
    assert manifest["synthetic"] is True and manifest["scale"] == "national"
    for key in (
        "members",
        "organisations",
        "service_points",
        "buildings",
        "activities",
        "panoramas",
    ):
        assert counts[key] == getattr(SMALL, key), key
    assert len(pd.read_csv(national / "members.csv")) == SMALL.members
    assert len(pd.read_csv(national / "organisations.csv")) == SMALL.organisations
    sps = pd.read_csv(national / "service_points.csv")
    assert len(sps) == SMALL.service_points and sps["code"].is_unique
    assert set(sps["kind"]) == {"党群服务中心", "党群服务站", "党员活动室", "红色教育基地"}


def test_tree_has_the_five_levels_in_the_files(national: Path) -> None:
    orgs = pd.read_csv(national / "organisations.csv", keep_default_na=False)
    depth = _depths(orgs)
    assert sorted(set(depth)) == [0, 1, 2, 3, 4, 5]
    assert (depth == 0).sum() == SMALL.provinces
    assert set(orgs.loc[depth <= 3, "type"]) == {"党委"}  # 省, 市, 区县 committees and 街道党工委
    assert set(orgs.loc[depth == 4, "type"]) <= {"党委", "党总支"}  # 社区党委 / 党总支
    assert set(orgs.loc[depth == 5, "type"]) == {"党支部"}
    members = pd.read_csv(national / "members.csv")
    branches = set(orgs.loc[depth == 5, "code"])
    assert set(members["branch_code"]) <= branches
    districts = json.loads((national / "districts.geojson").read_text(encoding="utf-8"))
    levels = [f["properties"]["level"] for f in districts["features"]]
    assert set(levels) == set(AREA_LEVELS) and levels.count("province") == SMALL.provinces


def test_every_name_is_labelled(national: Path) -> None:
    for name, column in (
        ("organisations.csv", "name"),
        ("members.csv", "name"),
        ("service_points.csv", "name"),
        ("activities.csv", "title"),
        ("panoramas.csv", "title"),
    ):
        values = pd.read_csv(national / name)[column]
        assert values.str.contains("示例").all(), name
    for name in ("buildings.geojson", "roads.geojson", "districts.geojson"):
        feats = json.loads((national / name).read_text(encoding="utf-8"))["features"]
        assert all("示例" in f["properties"]["name"] for f in feats), name


def test_members_live_near_their_branch(national: Path) -> None:
    orgs = pd.read_csv(national / "organisations.csv", keep_default_na=False).set_index("code")
    members = pd.read_csv(national / "members.csv")
    home = members[members["status"] != "流动"]
    seat = orgs.loc[home["branch_code"], ["lon", "lat"]].to_numpy()
    far_deg = ((home[["lon", "lat"]].to_numpy() - seat) ** 2).sum(axis=1) ** 0.5
    assert (far_deg < 0.03).mean() > 0.99  # within ~3 km (σ 400 m)


def test_same_seed_same_bytes(national: Path, tmp_path: Path) -> None:
    generate_national(SMALL, tmp_path / "again")
    assert _files(tmp_path / "again") == _files(national)
    generate_national(replace(SMALL, seed=12), tmp_path / "other")
    other = _files(tmp_path / "other")
    assert other["members.csv"] != _files(national)["members.csv"]


def test_too_few_organisations_for_the_provinces(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="too few"):
        generate_national(replace(SMALL, organisations=20, provinces=5), tmp_path)


def test_loads_through_the_sample_load_path(clean_db: str, national: Path, tmp_path: Path) -> None:
    result = load_samples(clean_db, national, tmp_path / "pano", progress=False)
    assert not result.skipped
    manifest = json.loads((national / "manifest.json").read_text(encoding="utf-8"))
    assert table_counts(clean_db) == manifest["counts"]
    with psycopg.connect(clean_db) as conn:
        tree = conn.execute(TREE_SQL).fetchall()
        on = dict(conn.execute(MEMBER_BRANCH_SQL).fetchall())
        levels = dict(conn.execute("SELECT level, count(*) FROM districts GROUP BY 1").fetchall())
    assert [row[0] for row in tree] == list(DEPTH_OF)
    assert tree[0][1] == SMALL.provinces and [row[3][0] for row in tree[:3]] == ["P", "C", "D"]
    assert tree[3][4] == tree[3][1]  # every depth-3 organisation is a 街道 (…-Snnn)
    assert tree[5][2] == ["党支部"] and sum(row[1] for row in tree) == SMALL.organisations
    assert on == {"党支部": SMALL.members}
    assert set(levels) == set(AREA_LEVELS) and levels["province"] == SMALL.provinces


def test_cli_national(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    args = ["samples", "generate", "--scale", "national", "--out", str(out), "--seed", "3",
            "--today", TODAY, "--members", "500", "--organisations", "300", "--service-points", "20",
            "--buildings", "100", "--activities", "10", "--panoramas", "0", "--provinces", "1",
            "--boundaries", "grid"]  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert len(pd.read_csv(out / "members.csv")) == 500
    bad = CliRunner().invoke(app, [*args[:-4], "--provinces", "60", "--boundaries", "grid"])
    assert bad.exit_code == 2 and "too few" in bad.output


# VmHWM is the peak RSS of this process's own memory map (ru_maxrss would carry the parent's
# peak over fork and exec).
PEAK_SCRIPT = """
import re, sys
from pathlib import Path
from geo.samples.national import NationalSpec, generate_national
spec = NationalSpec(seed=5, today="2026-06-15", members=int(sys.argv[1]), organisations=2000,
                    service_points=300, buildings=4000, activities=100, panoramas=0, provinces=2,
                    boundaries="grid")
generate_national(spec, Path(sys.argv[2]))
print(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
"""


def _peak_kib(members: int, out: Path) -> int:
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(members), str(out)],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return int(done.stdout.strip().splitlines()[-1])


def test_peak_memory_does_not_grow_with_the_members(tmp_path: Path) -> None:
    """25× the members (one chunk → 25 chunks) raise the peak RSS by less than half of what
    holding them would add."""
    small = _peak_kib(CHUNK, tmp_path / "small")
    big = _peak_kib(BIG, tmp_path / "big")
    assert len(pd.read_csv(tmp_path / "big" / "members.csv", usecols=["external_id"])) == BIG
    assert big - small < 40 * 1024, (small, big)
