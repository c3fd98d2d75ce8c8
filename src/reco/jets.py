"""Jets and missing transverse momentum of a list of particles, with FastJet.

e+e− events: the generalised-kT algorithm for e+e− (``ee_genkt``: distances in angle and energy, R = 0.4,
p = −1, the anti-kT-like choice of the CLIC MLPF study); hadron collisions: anti-kT with R = 0.4. Jets
above ``min_pt`` (5 GeV) are kept, as (pT, η, φ, E) rows sorted by decreasing pT.
"""

from __future__ import annotations

from dataclasses import dataclass

import fastjet
import numpy as np

ALGORITHMS = ("ee_genkt", "antikt")


@dataclass(frozen=True)
class JetDefinition:
    """Which jets: ``algorithm`` (``ee_genkt`` or ``antikt``), ``radius``, the generalised-kT exponent
    ``p`` (ee_genkt only) and the smallest jet pT kept (GeV)."""

    algorithm: str = "ee_genkt"
    radius: float = 0.4
    p: float = -1.0
    min_pt: float = 5.0

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"jets.algorithm={self.algorithm!r}; allowed: {list(ALGORITHMS)}")
        if self.radius <= 0:
            raise ValueError(f"jets.radius must be > 0, got {self.radius}")

    def to_fastjet(self) -> fastjet.JetDefinition:
        """The FastJet jet definition."""
        if self.algorithm == "ee_genkt":
            return fastjet.JetDefinition(fastjet.ee_genkt_algorithm, self.radius, self.p)
        return fastjet.JetDefinition(fastjet.antikt_algorithm, self.radius)


def four_vectors(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """(px, py, pz, E) [n, 4] from (pT, η, φ, E)."""
    pt = np.asarray(pt, dtype=np.float64)
    return np.stack(
        [pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta), np.asarray(energy, dtype=np.float64)], axis=1
    )


def cluster_jets(
    p4: np.ndarray, definition: JetDefinition = JetDefinition()
) -> tuple[np.ndarray, np.ndarray]:
    """Jets of particles with four-vectors ``p4`` [n, 4] (px, py, pz, E in GeV).

    Returns (jets [k, 4] as (pT, η, φ, E) by decreasing pT, jet index of each particle [n], −1 for none).
    """
    p4 = np.asarray(p4, dtype=np.float64).reshape(-1, 4)
    index = np.full(len(p4), -1, dtype=np.int64)
    if not len(p4):
        return np.zeros((0, 4)), index
    particles = []
    for i, (px, py, pz, e) in enumerate(p4):
        pj = fastjet.PseudoJet(float(px), float(py), float(pz), float(e))
        pj.set_user_index(i)
        particles.append(pj)
    sequence = fastjet.ClusterSequence(particles, definition.to_fastjet())
    jets = sorted(sequence.inclusive_jets(definition.min_pt), key=lambda j: -j.pt())
    rows = np.array([[j.pt(), j.eta(), j.phi_std(), j.e()] for j in jets]).reshape(-1, 4)
    for k, jet in enumerate(jets):
        index[[c.user_index() for c in jet.constituents()]] = k
    return rows, index


def missing_pt(p4: np.ndarray) -> float:
    """Magnitude of the missing transverse momentum, |−Σ pT| (GeV), of particles ``p4`` [n, 4]."""
    p4 = np.asarray(p4, dtype=np.float64).reshape(-1, 4)
    return float(np.hypot(p4[:, 0].sum(), p4[:, 1].sum()))
