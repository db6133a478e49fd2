"""A PostgreSQL restart under 16 concurrent clients (tests/outage.py runs the drill on the test
run's cluster, restarted under a real `djmap serve`): while the database is away cached tiles,
TileJSON and the layer list are served and every other request is 503 with Retry-After and a JSON
error, never a 500 or a dropped connection; from a second after it is back nothing fails.
`make outage` runs a longer one (on a private cluster).
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from pathlib import Path

from outage import Drill, drill, phase, print_report, write_report

from geo.cluster import Cluster

CACHEABLE = ("cached_tile", "leader_tile", "layers", "tilejson")


def by_phase(result: Drill, kinds: tuple[str, ...] | None = None) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {"before": Counter(), "outage": Counter(), "after": Counter()}
    for a in result.answers:
        if kinds is None or a.kind in kinds:
            counts[phase(a, result.marks)][str(a.status)] += 1
    return counts


def test_restart_under_load_serves_the_cache_and_503s_the_rest(
    cluster: Cluster, clean_db: str, output_dir: Path
) -> None:
    """The drill stops and starts this worker's own cluster (emptied first: `clean_db`), which
    spares a second initdb, migration and removal; the tests after it find it running."""
    assert clean_db == cluster.url
    workdir = Path(tempfile.mkdtemp(prefix="djmap-outage-"))
    try:
        result = drill(
            workdir / "drill", clients=16, before=2.0, down=3.0, after=3.0, cluster=cluster
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report = write_report(result, output_dir / "outage.json")
    print_report(report)
    every = by_phase(result)
    assert set(every["before"]) == {"200"}, every
    assert set(every["outage"]) <= {"200", "503"}, every  # no 500, no dropped connection
    assert every["outage"]["503"] > 0  # the database really was away
    assert set(every["after"]) == {"200"} and every["after"]["200"] > 0, every
    cacheable = by_phase(result, CACHEABLE)
    assert set(cacheable["outage"]) == {"200"}, cacheable  # stale-if-error
    summary = report["summary"]
    assert summary["malformed_503"] == 0  # each 503: Retry-After and a JSON error body
    assert summary["tracebacks"] == 0, result.log[-3000:]
    assert (summary["outage_lines"], summary["recovery_lines"]) == (1, 1), result.log[-3000:]
