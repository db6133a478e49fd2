"""The organisation tree of an import: parents in any order, cycles caught, insertion depth computed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.ingest.problems import Problems


def _chain(code: str, parents: dict[str, str | None], limit: int) -> tuple[list[str], bool]:
    """Ancestors of `code` (itself first) and whether the walk came back to a visited code."""
    seen = [code]
    visited = {code}
    cur = parents.get(code)
    while cur is not None and len(seen) <= limit:
        if cur in visited:
            seen.append(cur)
            return seen, True
        seen.append(cur)
        visited.add(cur)
        cur = parents.get(cur)
    return seen, False


def check_tree(
    codes: pd.Series,
    parent_codes: pd.Series,
    db_parents: dict[str, str | None],
    header: str | None,
    p: Problems,
) -> np.ndarray:
    """Report parent cycles and rows whose in-file parent is bad; return each row's depth."""
    n = len(codes)
    rows: dict[str, int] = {}
    for i, c in enumerate(codes.tolist()):
        if isinstance(c, str):
            rows.setdefault(c, i)
    parents = dict(db_parents)
    for i, (c, par) in enumerate(zip(codes.tolist(), parent_codes.tolist(), strict=True)):
        if isinstance(c, str) and rows.get(c) == i:
            parents[c] = par if isinstance(par, str) else None
    depth = np.zeros(n, dtype=np.int64)
    cycle = np.zeros(n, dtype=bool)
    messages: list[str] = []
    for c, i in rows.items():
        chain, looped = _chain(c, parents, len(parents) + 1)
        if looped:
            cycle[i] = True
            messages.append(" → ".join(chain))
        depth[i] = len(chain) - 1
    p.error(
        cycle,
        "parent_cycle",
        lambda v: [f"organisation is its own ancestor: {s}" for s in v],
        header,
        lambda idx: pd.Series(messages),
    )
    _cascade(codes, parent_codes, set(db_parents), header, p)
    return depth


def _cascade(
    codes: pd.Series, parent_codes: pd.Series, in_db: set[str], header: str | None, p: Problems
) -> None:
    """A row whose parent exists only as a bad row of this file cannot be written either."""
    while True:
        bad_codes = set(codes[p.bad].dropna()) - in_db
        orphan = parent_codes.isin(bad_codes).to_numpy() & p.good
        if not orphan.any():
            return
        p.error(
            orphan,
            "parent_rejected",
            lambda v: [f"parent {s!r} is a bad row of this file" for s in v],
            header,
            parent_codes,
        )
