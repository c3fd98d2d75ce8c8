"""Pileup overlay: rows keep their interaction, pointers follow their rows, vertices move by the draws,
and selecting rows drops pointers to rows that are gone."""

from __future__ import annotations

import numpy as np
import pytest

from src.sim.pileup import luminous_region, overlay, select


def _gen(n: int, parent: list[int]) -> dict[str, np.ndarray]:
    return {
        "gen_pdg": np.arange(n, dtype=np.int32) + 100,
        "gen_pz": np.linspace(-1, 1, n),
        "gen_vz": np.zeros(n),
        "gen_time": np.zeros(n),
        "gen_parent": np.array(parent, dtype=np.int32),
        "gen_calo_entry": np.full(n, -1, dtype=np.int32),
    }


def test_overlay_marks_interactions_and_shifts_pointers_and_vertices() -> None:
    signal = _gen(2, [-1, 0])
    pu1, pu2 = _gen(3, [-1, 0, 1]), _gen(1, [-1])
    out = overlay(signal, [pu1, pu2], vertex_z=[10.0, -5.0], vertex_t=[0.1, 0.2])
    assert out["gen_interaction"].tolist() == [0, 0, 1, 1, 1, 2]
    assert out["gen_parent"].tolist() == [-1, 0, -1, 2, 3, -1]
    assert out["gen_vz"].tolist() == [0.0, 0.0, 10.0, 10.0, 10.0, -5.0]
    assert out["gen_time"].tolist() == pytest.approx([0, 0, 0.1, 0.1, 0.1, 0.2])
    assert out["gen_pdg"].tolist() == [100, 101, 100, 101, 102, 100]
    with pytest.raises(ValueError, match="2 pileup interactions but 1 z"):
        overlay(signal, [pu1, pu2], vertex_z=[1.0], vertex_t=[1.0, 2.0])


def test_select_drops_rows_and_their_pointers() -> None:
    gen = _gen(4, [-1, 0, 1, 0])
    out = select(gen, np.array([True, False, True, True]))
    assert out["gen_pdg"].tolist() == [100, 102, 103]
    assert out["gen_parent"].tolist() == [-1, -1, 0]


def test_luminous_region_draws_have_the_requested_spread() -> None:
    z, t = luminous_region(np.random.default_rng(0), 20000, sigma_z=50.0, sigma_t=0.2)
    assert z.std() == pytest.approx(50.0, rel=0.03) and t.std() == pytest.approx(0.2, rel=0.03)
