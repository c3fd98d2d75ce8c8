"""The condensation tuning script's bootstrap: resampling identical methods gives zero differences, and a
model that finds a particle the baseline misses is ahead on efficiency in every resampling that holds
that event."""

from __future__ import annotations

import importlib.util

import numpy as np

from src.metrics.calo_clusters import ClusterCounts
from tests.conftest import REPO


def _script():
    spec = importlib.util.spec_from_file_location(
        "tune_condensation", REPO / "scripts" / "tune_condensation.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _counts(captured: float, energy: float = 10.0) -> ClusterCounts:
    found = energy if captured else 0.0
    return ClusterCounts(
        particle_energy=energy,
        found_energy=found,
        captured_energy=captured,
        purity_energy=found,
        n_particles=1,
        n_found=int(bool(captured)),
    )


def test_bootstrap_differences():
    bootstrap = _script().bootstrap_differences
    same = [_counts(8.0), _counts(9.0), _counts(0.0)]
    diffs = bootstrap(same, same, 50)
    np.testing.assert_array_equal(diffs["efficiency"], 0.0)
    model = [_counts(8.0), _counts(9.0), _counts(7.0)]  # the model finds the third particle
    diffs = bootstrap(model, same, 200, seed=1)
    assert (diffs["efficiency"] >= 0).all() and (diffs["efficiency"] > 0).mean() > 0.5
    assert np.isclose(diffs["efficiency"].max(), 0.7)  # all three draws of the third event: 21/30 vs 0
