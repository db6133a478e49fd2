"""The sites' MCLP (geo/analysis/sites.py) is built in PuLP as spopt's `MCLP.from_cost_matrix`
builds it, so the CLI need not import spopt (and libpysal, scikit-learn, numba) at start-up. Here
spopt itself solves the same random problems: the same covered weight, every locked site kept."""

from __future__ import annotations

import numpy as np
import pulp
import pytest
from spopt.locate import MCLP

from geo.analysis.sites import mclp


def _covered(aij: np.ndarray, weights: np.ndarray, open_: list[int]) -> float:
    return float(weights[aij[:, open_].any(axis=1)].sum())


@pytest.mark.parametrize("seed", range(6))
def test_same_optimum_as_spopt(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_cli, n_fac = int(rng.integers(20, 60)), int(rng.integers(5, 15))
    aij = (rng.random((n_cli, n_fac)) < 0.2).astype(float)
    weights = rng.integers(1, 50, n_cli).astype(float)
    locked = np.zeros(n_fac, dtype=int)
    locked[rng.choice(n_fac, 2, replace=False)] = 1
    p = 2 + int(rng.integers(1, 4))

    ours = [j for j, x in enumerate(mclp(aij, weights, p, locked)) if (x.value() or 0) > 0.5]
    theirs_model = MCLP.from_cost_matrix(
        1.0 - aij, weights, service_radius=0.5, p_facilities=p, predefined_facilities_arr=locked
    ).solve(pulp.PULP_CBC_CMD(msg=False, threads=1))
    theirs = [j for j, x in enumerate(theirs_model.fac_vars) if (x.value() or 0) > 0.5]

    assert len(ours) == len(theirs) == p
    assert set(np.flatnonzero(locked)) <= set(ours)
    assert _covered(aij, weights, ours) == _covered(aij, weights, theirs)
