"""The Dask cluster that large analyses run on (issue 15 §3).

`DJMAP_DASK_SCHEDULER` (a `tcp://host:8786` address) names a running distributed scheduler; without
it each run starts a `LocalCluster` of `DJMAP_DASK_WORKERS` single-threaded worker processes on
this machine and closes it afterwards. The same code runs on either: tasks carry their data (or a
scattered copy), never a database connection, so workers need no access to PostgreSQL.

`DJMAP_DASK_MIN_MEMBERS` is the size from which `engine="auto"` picks the Dask path: the members
in the run's scope (docs/SCALE.md, "Dask", says how it was chosen). Heat builds
(tiles/heat_dask.py) use a scheduler only when `DJMAP_DASK_SCHEDULER` names one, for the points
past `DJMAP_DASK_HEAT_MIN_POINTS`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from geo.errors import InvalidInput

ENGINES = ("auto", "local", "dask")


class DaskSettings(BaseSettings):
    """Where the Dask path runs, and from which size `auto` takes it."""

    model_config = SettingsConfigDict(env_prefix="DJMAP_DASK_", extra="ignore")

    scheduler: str | None = None  # a running scheduler's address; None: a LocalCluster per run
    workers: int = 2  # LocalCluster worker processes (one thread each)
    processes: bool = True  # LocalCluster workers as processes (False: threads of this process)
    memory_limit: str = "auto"  # per LocalCluster worker
    min_members: int = 2_000_000  # `auto` runs on Dask from this many members in scope
    heat_min_points: int = 1_000_000  # heat builds count the points past these on the scheduler


@contextmanager
def dask_client(settings: DaskSettings | None = None) -> Iterator[Any]:
    """A `distributed.Client` on the configured scheduler, or on a LocalCluster made for the
    block (closed after it)."""
    from distributed import Client, LocalCluster

    s = settings or DaskSettings()
    # each shuffle says at WARNING level that it started and ended
    logging.getLogger("distributed.shuffle._scheduler_plugin").setLevel(logging.ERROR)
    if s.scheduler:
        with Client(s.scheduler) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=s.workers,
            threads_per_worker=1,
            processes=s.processes,
            memory_limit=s.memory_limit,
            dashboard_address=":0",  # any free port: several runs may share a machine
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def use_dask(engine: str, members: int, settings: DaskSettings | None = None) -> bool:
    """Whether a run of `members` members in scope takes the Dask path under `engine`."""
    if engine not in ENGINES:
        raise InvalidInput(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    if engine != "auto":
        return engine == "dask"
    return members >= (settings or DaskSettings()).min_members


def scattered_frame(client: Any, columns: dict[str, Any], chunk: int) -> Any:
    """A dask DataFrame of the given equal-length arrays, chunked in their order, with each chunk
    sent to a worker once (`scatter`) rather than embedded in every task graph."""
    import dask.dataframe as dd
    import pandas as pd

    n = len(next(iter(columns.values())))
    frames = [
        pd.DataFrame({k: v[start : start + chunk] for k, v in columns.items()})
        for start in range(0, max(n, 1), chunk)
    ]
    futures = client.scatter(frames)
    return dd.from_delayed(futures, meta=frames[0].iloc[:0], verify_meta=False)
