"""How clusters of calorimeter hits fragment particles' showers: clusters per particle, the share of a
particle's energy in its leading cluster, clusters made of noise and single-hit clusters.

Inputs as in :mod:`src.metrics.calo_clusters`: one event's cluster label per hit (``< 0``: in no cluster),
the hit energies and the truth as (hit, particle, energy) contributions. Per cluster, its **truth energy**
sums the contributions to its hits; a cluster is **noise** when less than half of its energy is truth
energy, else it **belongs** to the particle with the most energy in it. A particle's **containment** is the
share of its energy E_p in the cluster that holds the most of it (its leading cluster).

Counts add over events (:class:`FragmentCounts`) and are divided at the end; every ratio is NaN when its
denominator is empty.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from src.metrics.counts import Sums, ratio


@dataclass
class FragmentCounts(Sums):
    """Sums over one or more events; ``+`` adds events, :meth:`rates` divides."""

    n_particles: int = 0
    particle_energy: float = 0.0
    leading_energy: float = 0.0
    containment_sum: float = 0.0
    n_clusters: int = 0
    n_particle_clusters: int = 0
    n_significant: int = 0
    n_noise_clusters: int = 0
    n_single_hit: int = 0
    n_events: int = 0

    def rates(self) -> dict[str, float]:
        """``clusters_per_particle`` (clusters belonging to a counted particle, per particle),
        ``significant_per_particle`` (those of them with at least ``min_share`` of its energy),
        ``containment`` (mean over particles), ``leading_fraction`` (Σ leading-cluster energy / Σ E_p),
        ``noise_clusters`` and ``single_hit_clusters`` (per event), ``clusters`` (per event)."""
        return {
            "clusters_per_particle": ratio(self.n_particle_clusters, self.n_particles),
            "significant_per_particle": ratio(self.n_significant, self.n_particles),
            "containment": ratio(self.containment_sum, self.n_particles),
            "leading_fraction": ratio(self.leading_energy, self.particle_energy),
            "noise_clusters": ratio(self.n_noise_clusters, self.n_events),
            "single_hit_clusters": ratio(self.n_single_hit, self.n_events),
            "clusters": ratio(self.n_clusters, self.n_events),
        }


def fragment_counts(
    *,
    labels: npt.ArrayLike,
    hit_energy: npt.ArrayLike,
    contrib_hit: npt.ArrayLike,
    contrib_particle: npt.ArrayLike,
    contrib_energy: npt.ArrayLike,
    min_particle_energy: float = 0.0,
    min_share: float = 0.05,
) -> FragmentCounts:
    """The sums of one event (see the module docstring); particles that left less than
    ``min_particle_energy`` are not counted, nor are the clusters that belong to them."""
    labels = np.asarray(labels, dtype=np.int64)
    hit_energy = np.asarray(hit_energy, dtype=np.float64)
    hit = np.asarray(contrib_hit, dtype=np.int64)
    particle = np.asarray(contrib_particle, dtype=np.int64)
    energy = np.asarray(contrib_energy, dtype=np.float64)
    ok = particle >= 0
    hit, particle, energy = hit[ok], particle[ok], energy[ok]
    member = labels >= 0
    ids, c_of_hit = np.unique(labels[member], return_inverse=True)
    n_c = len(ids)
    c_energy = np.bincount(c_of_hit, weights=hit_energy[member], minlength=n_c)
    c_hits = np.bincount(c_of_hit, minlength=n_c)
    cluster_index = np.full(len(labels), -1, dtype=np.int64)
    cluster_index[member] = c_of_hit
    pids, p_inv = np.unique(particle, return_inverse=True)
    p_energy = np.bincount(p_inv, weights=energy, minlength=len(pids))
    counted = p_energy >= min_particle_energy
    c = cluster_index[hit]
    inside = c >= 0
    truth = np.bincount(c[inside], weights=energy[inside], minlength=n_c)
    shared = np.zeros((n_c, len(pids)))
    np.add.at(shared, (c[inside], p_inv[inside]), energy[inside])
    owner = shared.argmax(axis=1) if len(pids) else np.full(n_c, -1)
    noise = truth < 0.5 * np.abs(c_energy)
    belongs = ~noise & (counted[owner] if len(pids) else np.zeros(n_c, dtype=bool))
    significant = belongs & (c_energy >= min_share * (p_energy[owner] if len(pids) else 0.0))
    leading = shared.max(axis=0) if n_c else np.zeros(len(pids))
    containment = np.divide(leading, p_energy, out=np.zeros(len(pids)), where=p_energy > 0)
    return FragmentCounts(
        n_particles=int(counted.sum()),
        particle_energy=float(p_energy[counted].sum()),
        leading_energy=float(leading[counted].sum()),
        containment_sum=float(np.minimum(containment[counted], 1.0).sum()),
        n_clusters=n_c,
        n_particle_clusters=int(belongs.sum()),
        n_significant=int(significant.sum()),
        n_noise_clusters=int(noise.sum()),
        n_single_hit=int((c_hits == 1).sum()),
        n_events=1,
    )
