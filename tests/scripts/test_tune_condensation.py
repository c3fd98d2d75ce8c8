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


def test_margin_is_the_less_sure_of_the_two_leads():
    script = _script()
    diffs = {"efficiency": np.array([0.01, 0.03]), "purity": np.array([0.0, 0.002])}  # σ 0.01 and 0.001
    base = {"efficiency": 0.88, "purity": 0.970}
    out = script.margins({"efficiency": 0.90, "purity": 0.971}, base, diffs)
    assert np.isclose(out["z_efficiency"], 2.0) and np.isclose(out["z_purity"], 1.0)
    assert np.isclose(out["margin"], 1.0)
    behind = script.margins({"efficiency": 0.95, "purity": 0.969}, base, diffs)
    assert behind["margin"] < 0  # far ahead on efficiency does not make up for a purity below the baseline


def test_choose_by_margin_or_by_efficiency():
    import pandas as pd

    table = pd.DataFrame(
        {
            "efficiency": [0.90, 0.88, 0.86],
            "purity": [0.9700, 0.9740, 0.9800],
            "margin": [0.1, 2.0, 1.5],
        }
    )
    choose = _script().choose
    assert choose(table, {"purity": 0.97}, "margin", None)[0] == 1
    assert choose(table, {"purity": 0.97}, "efficiency", None)[0] == 0  # the edge of the baseline's purity
    assert choose(table, {"purity": 0.97}, "efficiency", 0.975)[0] == 2
    assert choose(table, {"purity": 0.97}, "efficiency", 0.99) is None
