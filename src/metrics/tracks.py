"""Track-candidate matching: perfect, double-majority (DM) and LHC efficiencies and fake rates.

Objects (hits, line segments) carry a true ``particle_id`` and a predicted cluster ``label``. Conventions
(those of the gnn_tracking project, so figures compare):

* A **noise** object (``particle_id <= 0`` by default: TrackML noise hits, fake line segments) belongs to no
  particle. Clustering labels ``< 0`` (DBSCAN/HDBSCAN noise) put an object in no cluster.
* A **valid cluster** has label ``>= 0`` and at least ``min_cluster_size`` objects. Its **majority
  particle** is the particle id with most objects in it (noise counts as one "id"; ties go to the smaller id).
* ``maj_frac`` = majority objects / cluster size (purity); ``maj_pid_frac`` = majority objects / all objects
  of that particle in the event (completeness).
* **perfect**: the cluster holds all of the particle's objects and nothing else. **DM**: ``maj_frac > 0.5``
  and ``maj_pid_frac > 0.5``. **LHC**: ``maj_frac > 0.75``.
* A particle is **reconstructable** when it has at least ``min_particle_size`` objects.
* At a pT threshold ``t``: the particle denominator counts reconstructable particles with pT >= t; the
  cluster denominator counts valid clusters whose majority particle is a reconstructable particle with
  pT >= t. Clusters whose majority is noise enter no denominator (as in gnn_tracking);
  ``noise_cluster_frac`` reports how many valid clusters that is, so a method cannot hide fakes there.
* ``eff_perfect = perfect / particles``, ``eff_dm = DM / particles``, ``eff_lhc = LHC / clusters``,
  ``fake_X = 1 - X / clusters``. Counts are summed over events before dividing (``TrackCounts`` adds).

Each matched cluster is matched to one particle, and a particle has at most one DM/perfect cluster (two
clusters cannot both hold more than half of its objects), so DM and perfect counts never exceed particles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from src.metrics.counts import Sums, ratio
from src.metrics.naming import with_threshold

#: The efficiency and fake-rate names, each suffixed with ``_pt<threshold>`` in metric dictionaries.
RATE_NAMES = ("eff_perfect", "eff_dm", "eff_lhc", "fake_perfect", "fake_dm", "fake_lhc")


@dataclass(frozen=True)
class TrackMatch:
    """Per-cluster and per-particle matching tables of one event.

    ``clusters``: one row per valid cluster (index = label) with columns ``size``, ``maj_pid``, ``maj_hits``,
    ``maj_frac``, ``maj_pid_frac``, ``maj_pt``, ``maj_noise``, ``maj_reconstructable``, ``perfect``, ``dm``,
    ``lhc``. ``particles``: one row per particle (index = particle id, noise excluded) with ``n_hits``,
    ``pt``, ``reconstructable``, ``perfect``, ``dm`` (whether some valid cluster matches it).
    """

    clusters: pd.DataFrame
    particles: pd.DataFrame


@dataclass
class TrackCounts(Sums):
    """Numerators and denominators at one pT threshold; ``+`` sums events."""

    n_particles: int = 0
    n_clusters: int = 0
    n_perfect: int = 0
    n_dm: int = 0
    n_lhc: int = 0
    n_noise_clusters: int = 0
    n_valid_clusters: int = 0

    def rates(self) -> dict[str, float]:
        """Efficiencies and fake rates; ``nan`` where a denominator is zero."""
        return {
            "eff_perfect": ratio(self.n_perfect, self.n_particles),
            "eff_dm": ratio(self.n_dm, self.n_particles),
            "eff_lhc": ratio(self.n_lhc, self.n_clusters),
            "fake_perfect": ratio(self.n_clusters - self.n_perfect, self.n_clusters),
            "fake_dm": ratio(self.n_clusters - self.n_dm, self.n_clusters),
            "fake_lhc": ratio(self.n_clusters - self.n_lhc, self.n_clusters),
            "noise_cluster_frac": ratio(self.n_noise_clusters, self.n_valid_clusters),
        }


def _as_1d(name: str, values: npt.ArrayLike, n: int | None = None) -> np.ndarray:
    array = np.asarray(values).reshape(-1)
    if n is not None and len(array) != n:
        raise ValueError(f"{name} has {len(array)} entries, expected {n} (one per object)")
    return array


def match_tracks(
    labels: npt.ArrayLike,
    particle_id: npt.ArrayLike,
    pt: npt.ArrayLike,
    *,
    noise: npt.ArrayLike,
    min_cluster_size: int = 3,
    min_particle_size: int = 3,
) -> TrackMatch:
    """Match the clusters of one event to its particles.

    Args:
        labels: predicted cluster per object; ``< 0`` = unclustered.
        particle_id: true particle per object.
        pt: true transverse momentum of each object's particle (ignored for noise).
        noise: boolean mask of the objects of no particle (noise hits, fake segments): each collection
            has its own convention (``src.event_model``), so the caller states it.
        min_cluster_size: smallest cluster that counts as a track candidate.
        min_particle_size: fewest objects for a particle to be reconstructable.
    """
    labels = _as_1d("labels", labels).astype(np.int64)
    n = len(labels)
    pid = _as_1d("particle_id", particle_id, n).astype(np.int64)
    pt = _as_1d("pt", pt, n).astype(np.float64)
    noise = _as_1d("noise", noise, n).astype(bool)
    # one id for every noise object, below every real id
    pid = np.where(noise, np.iinfo(np.int64).min, pid)

    objects = pd.DataFrame({"c": labels, "pid": pid, "pt": pt, "noise": noise})
    real = objects[~objects["noise"]]
    particles = real.groupby("pid").agg(n_hits=("pt", "size"), pt=("pt", "first"))
    particles["reconstructable"] = particles["n_hits"] >= min_particle_size

    in_cluster = objects[objects["c"] >= 0]
    sizes = in_cluster.groupby("c").size()
    valid_labels = sizes.index[sizes >= min_cluster_size]
    pairs = (
        in_cluster[in_cluster["c"].isin(valid_labels)]
        .groupby(["c", "pid"])
        .size()
        .rename("hits")
        .reset_index()
        .sort_values(["c", "hits", "pid"], ascending=[True, False, True], kind="stable")
    )
    clusters = pairs.groupby("c").first().rename(columns={"pid": "maj_pid", "hits": "maj_hits"})
    clusters["size"] = sizes.loc[clusters.index]
    clusters["maj_noise"] = ~clusters["maj_pid"].isin(particles.index)
    pid_hits = clusters["maj_pid"].map(particles["n_hits"])
    clusters["maj_pt"] = clusters["maj_pid"].map(particles["pt"]).fillna(0.0)
    clusters["maj_reconstructable"] = clusters["maj_pid"].map(particles["reconstructable"]).fillna(False)
    clusters["maj_frac"] = clusters["maj_hits"] / clusters["size"]
    clusters["maj_pid_frac"] = (clusters["maj_hits"] / pid_hits).fillna(0.0)
    real_majority = ~clusters["maj_noise"]
    pure = clusters["maj_hits"] == clusters["size"]
    clusters["perfect"] = real_majority & pure & (clusters["maj_hits"] == pid_hits)
    clusters["dm"] = real_majority & (clusters["maj_frac"] > 0.5) & (clusters["maj_pid_frac"] > 0.5)
    clusters["lhc"] = real_majority & (clusters["maj_frac"] > 0.75)
    for flag in ("perfect", "dm"):
        matched = clusters.loc[clusters[flag], "maj_pid"]
        particles[flag] = particles.index.isin(matched)
    return TrackMatch(clusters=clusters, particles=particles)


def track_counts(match: TrackMatch, pt_thresholds: Iterable[float]) -> dict[float, TrackCounts]:
    """Counts at each pT threshold (see the module docstring for what enters each denominator)."""
    c, p = match.clusters, match.particles
    out = {}
    for t in pt_thresholds:
        c_mask = c["maj_reconstructable"].to_numpy(bool) & (c["maj_pt"].to_numpy() >= t)
        p_mask = p["reconstructable"].to_numpy(bool) & (p["pt"].to_numpy() >= t)
        out[float(t)] = TrackCounts(
            n_particles=int(p_mask.sum()),
            n_clusters=int(c_mask.sum()),
            n_perfect=int((c["perfect"].to_numpy(bool) & c_mask).sum()),
            n_dm=int((c["dm"].to_numpy(bool) & c_mask).sum()),
            n_lhc=int((c["lhc"].to_numpy(bool) & c_mask).sum()),
            n_noise_clusters=int(c["maj_noise"].sum()),
            n_valid_clusters=len(c),
        )
    return out


def sum_counts(per_event: Iterable[Mapping[float, TrackCounts]]) -> dict[float, TrackCounts]:
    """Sum per-event counts threshold by threshold."""
    total: dict[float, TrackCounts] = {}
    for counts in per_event:
        for t, c in counts.items():
            total[t] = total.get(t, TrackCounts()) + c
    return total


def tracking_rates(counts: Mapping[float, TrackCounts]) -> dict[str, float]:
    """Flat metric dictionary: ``eff_dm_pt0.9``, ``fake_lhc_pt0.0``, ``noise_cluster_frac``, …"""
    out: dict[str, float] = {}
    for t, c in counts.items():
        rates = c.rates()
        out["noise_cluster_frac"] = rates.pop("noise_cluster_frac")
        for name, value in rates.items():
            out[with_threshold(f"{name}_pt", t)] = value
    return out
