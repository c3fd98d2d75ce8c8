"""Clusters of calorimeter hits against the particles that made them: energy-weighted matching, purity and
efficiency, fake clusters, the adjusted Rand index, type confusion and energy/direction resolution.

Inputs are one event's hits: a cluster label per hit (``< 0``: in no cluster), the hit energies, and the
truth as contributions — (hit, particle, energy) rows, several per hit where particles share a cell. The
energy of particle p in cluster c, E_pc, sums p's contributions to the hits of c; E_p sums all of p's
contributions and E_c the energies of c's hits.

* Each particle's **best cluster** holds the most of its energy; per particle efficiency E_pc/E_p and
  purity E_pc/E_c (capped at 1: noise can lower a hit's energy below its contributions) of that cluster.
  The particle is **found** when both exceed 0.5 (then no other cluster can be its match, and the cluster
  matches no other particle).
* **efficiency** = Σ_found E_pc / Σ_p E_p: the share of all particle energy that lies in the particles'
  matched clusters (a particle not found adds 0). **purity** = Σ_found E_p·purity_p / Σ_found E_p: the
  particle-energy-weighted purity of the matched clusters. ``found_fraction`` counts found particles.
* A cluster matched to no particle is **fake** (``fake_rate`` by count, ``fake_energy_fraction`` by energy).
* The **adjusted Rand index** compares the partitions of the hits, with truth noise and unclustered hits
  each one group.
Counts add over events (:class:`ClusterCounts`) and are divided at the end; every ratio is NaN when its
denominator is empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import adjusted_rand_score

from src.metrics.counts import Sums, ratio


@dataclass(frozen=True)
class ClusterMatch:
    """``particles``: one row per particle with energy (index: particle id) — ``energy``, ``cluster`` (best
    cluster label, −1 if none), ``shared`` (E_pc), ``efficiency``, ``purity``, ``found``. ``clusters``: one
    row per cluster (index: label) — ``energy``, ``n_hits``, ``particle`` (the found particle it matches,
    −1: fake)."""

    particles: pd.DataFrame
    clusters: pd.DataFrame


def match_clusters(
    *,
    labels: npt.ArrayLike,
    hit_energy: npt.ArrayLike,
    contrib_hit: npt.ArrayLike,
    contrib_particle: npt.ArrayLike,
    contrib_energy: npt.ArrayLike,
) -> ClusterMatch:
    """Energy-weighted matching of one event's clusters to its particles (see the module docstring)."""
    labels = np.asarray(labels, dtype=np.int64)
    hit_energy = np.asarray(hit_energy, dtype=np.float64)
    hit = np.asarray(contrib_hit, dtype=np.int64)
    particle = np.asarray(contrib_particle, dtype=np.int64)
    energy = np.asarray(contrib_energy, dtype=np.float64)
    ok = particle >= 0
    hit, particle, energy = hit[ok], particle[ok], energy[ok]
    member = labels >= 0
    ids, inverse = np.unique(labels[member], return_inverse=True)
    clusters = pd.DataFrame(
        {
            "energy": np.bincount(inverse, weights=hit_energy[member], minlength=len(ids)),
            "n_hits": np.bincount(inverse, minlength=len(ids)),
            "particle": np.full(len(ids), -1, dtype=np.int64),
        },
        index=pd.Index(ids, name="cluster"),
    )
    pids, p_inv = np.unique(particle, return_inverse=True)
    particles = pd.DataFrame(
        {
            "energy": np.bincount(p_inv, weights=energy, minlength=len(pids)),
            "cluster": np.full(len(pids), -1, dtype=np.int64),
            "shared": np.zeros(len(pids)),
        },
        index=pd.Index(pids, name="particle"),
    )
    in_cluster = labels[hit] >= 0
    if in_cluster.any():
        keys, k_inv = np.unique(
            np.stack([p_inv[in_cluster], labels[hit[in_cluster]]]), axis=1, return_inverse=True
        )
        shared = np.bincount(k_inv.ravel(), weights=energy[in_cluster])
        order = np.lexsort((keys[1], -shared, keys[0]))  # per particle: most energy, then lowest label
        first = order[np.unique(keys[0, order], return_index=True)[1]]
        particles.iloc[keys[0, first], particles.columns.get_loc("cluster")] = keys[1, first]
        particles.iloc[keys[0, first], particles.columns.get_loc("shared")] = shared[first]
    has = particles["cluster"].to_numpy() >= 0
    c_energy = np.zeros(len(particles))
    c_energy[has] = clusters["energy"].reindex(particles["cluster"].to_numpy()[has]).to_numpy()
    particles["efficiency"] = particles["shared"] / particles["energy"].where(particles["energy"] > 0)
    purity = np.divide(particles["shared"], c_energy, out=np.zeros(len(particles)), where=c_energy > 0)
    particles["purity"] = np.minimum(purity, 1.0)
    particles["found"] = (particles["efficiency"] > 0.5) & (particles["purity"] > 0.5)
    found = particles[particles["found"]]
    clusters.loc[found["cluster"].to_numpy(), "particle"] = found.index.to_numpy()
    return ClusterMatch(particles=particles, clusters=clusters)


@dataclass
class ClusterCounts(Sums):
    """Energy sums and counts of one or more events; ``+`` adds events, :meth:`rates` divides."""

    particle_energy: float = 0.0
    found_energy: float = 0.0
    captured_energy: float = 0.0
    purity_energy: float = 0.0
    n_particles: int = 0
    n_found: int = 0
    n_clusters: int = 0
    n_fake: int = 0
    cluster_energy: float = 0.0
    fake_energy: float = 0.0

    def rates(self) -> dict[str, float]:
        """``efficiency``, ``purity``, ``found_fraction``, ``fake_rate``, ``fake_energy_fraction``."""
        return {
            "efficiency": ratio(self.captured_energy, self.particle_energy),
            "purity": ratio(self.purity_energy, self.found_energy),
            "found_fraction": ratio(self.n_found, self.n_particles),
            "fake_rate": ratio(self.n_fake, self.n_clusters),
            "fake_energy_fraction": ratio(self.fake_energy, self.cluster_energy),
        }


def cluster_counts(match: ClusterMatch, *, min_particle_energy: float = 0.0) -> ClusterCounts:
    """The sums of one event; particles that left less than ``min_particle_energy`` are not counted (their
    matched clusters are not fakes)."""
    p = match.particles[match.particles["energy"] >= min_particle_energy]
    f = p[p["found"]]
    fake = match.clusters["particle"] < 0
    return ClusterCounts(
        particle_energy=float(p["energy"].sum()),
        found_energy=float(f["energy"].sum()),
        captured_energy=float(f["shared"].sum()),
        purity_energy=float((f["energy"] * f["purity"]).sum()),
        n_particles=len(p),
        n_found=len(f),
        n_clusters=len(match.clusters),
        n_fake=int(fake.sum()),
        cluster_energy=float(match.clusters["energy"].sum()),
        fake_energy=float(match.clusters.loc[fake, "energy"].sum()),
    )


def adjusted_rand_index(truth: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """ARI of the hits' truth ids and cluster labels (every negative id or label is one group); NaN for
    no hits."""
    truth, labels = np.asarray(truth), np.asarray(labels)
    if not len(truth):
        return float("nan")
    return float(adjusted_rand_score(np.where(truth < 0, -1, truth), np.where(labels < 0, -1, labels)))


def confusion_matrix(true: npt.ArrayLike, pred: npt.ArrayLike, n_classes: int) -> np.ndarray:
    """Counts [n_classes, n_classes]: row = true class, column = predicted class."""
    true, pred = np.asarray(true, dtype=np.int64), np.asarray(pred, dtype=np.int64)
    return np.bincount(true * n_classes + pred, minlength=n_classes**2).reshape(n_classes, n_classes)


def accuracy(confusion: np.ndarray) -> float:
    """Fraction on the diagonal of a confusion matrix (NaN when empty)."""
    total = confusion.sum()
    return float(np.trace(confusion) / total) if total else float("nan")


def energy_resolution(predicted: npt.ArrayLike, true: npt.ArrayLike) -> dict[str, float]:
    """``response``: median of E_pred/E_true; ``resolution``: half the 16–84% interval of that ratio over
    its median (a Gaussian's σ/μ, robust to tails)."""
    predicted, true = np.asarray(predicted, dtype=np.float64), np.asarray(true, dtype=np.float64)
    ok = true > 0
    if not ok.any():
        return {"response": float("nan"), "resolution": float("nan")}
    r = predicted[ok] / true[ok]
    q16, median, q84 = np.quantile(r, [0.16, 0.5, 0.84])
    return {"response": float(median), "resolution": float((q84 - q16) / 2 / median) if median else np.nan}


def angular_resolution(predicted: npt.ArrayLike, true: npt.ArrayLike) -> float:
    """68% quantile of the angle (rad) between predicted and true directions [N, 3] (NaN when empty)."""
    a, b = np.asarray(predicted, dtype=np.float64), np.asarray(true, dtype=np.float64)
    if not len(a):
        return float("nan")
    cos = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
    return float(np.quantile(np.arccos(np.clip(cos, -1.0, 1.0)), 0.68))
