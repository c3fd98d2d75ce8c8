"""Asserts the particle subsets of hit-level events: sizes, disjointness, whole particles, noise, seeds."""

from __future__ import annotations

import numpy as np
import pytest

from src.data.hits import SubsetSpec, with_weights


def test_particle_subsets(sim_arrays) -> None:
    def draw(seed: int, noise: bool = True) -> list[dict[str, np.ndarray]]:
        spec = SubsetSpec(particles=(10, 50), per_event=6, noise=noise)
        return spec.apply(sim_arrays, rng=np.random.default_rng(seed), event_ids=range(6))

    subsets = draw(0)
    pid_all = sim_arrays["particle_id"]
    n_all = len(np.unique(pid_all[pid_all > 0]))
    seen: set[int] = set()
    for s in subsets:
        ids = set(np.unique(s["particle_id"][s["particle_id"] > 0]).tolist())
        assert 10 <= len(ids) <= 50 and not ids & seen  # in range, disjoint
        seen |= ids
        for p in list(ids)[:5]:  # every hit of a sampled particle is kept
            assert (s["particle_id"] == p).sum() == (pid_all == p).sum()
        n_noise = int((s["particle_id"] == 0).sum())
        assert n_noise == round((pid_all == 0).sum() * len(ids) / n_all)
    assert max(seen) > sorted(np.unique(pid_all[pid_all > 0]))[len(seen)]  # a random sample, not the first N
    again = draw(0)
    assert all(np.array_equal(a["hit_id"], b["hit_id"]) for a, b in zip(subsets, again, strict=True))
    assert not np.array_equal(draw(1)[0]["hit_id"], subsets[0]["hit_id"])
    assert all((s["particle_id"] > 0).all() for s in draw(0, noise=False))
    weights = with_weights(subsets[0])["weight"]
    assert weights.sum() == pytest.approx(1.0)
    # primaries only, with enough hits; no subset: every eligible particle of the event
    (whole,) = SubsetSpec(max_vertex_r=10.0, min_hits=4, noise=False).apply(
        sim_arrays, rng=np.random.default_rng(0), event_ids=[0]
    )
    vertex_r = np.hypot(whole["particle_vertex"][:, 0], whole["particle_vertex"][:, 1])
    ids, counts = np.unique(whole["particle_id"], return_counts=True)
    assert (vertex_r <= 10.0).all() and (counts >= 4).all() and (ids > 0).all()
    with pytest.raises(ValueError, match="subsets_per_event"):
        SubsetSpec(per_event=2)
