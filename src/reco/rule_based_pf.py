"""A rule-based particle flow: the classical reconstruction MLPF is measured against.

1. **Links.** Each track is extrapolated to the calorimeter entrance (``track_calo_x/y/z``) and linked to
   the nearest cluster in (η, φ) seen from the origin, within ``link_dr``; a cluster may collect several
   tracks.
2. **Charged particles.** Every track becomes a charged particle with its own momentum: an *electron*
   when it is the only track of an electromagnetic cluster (ECAL fraction ≥ ``em_fraction``) whose
   calibrated energy matches the momentum (E/p in ``electron_ep``), a *muon* when its momentum is at least
   ``muon_min_p`` and it deposits no more than a minimum-ionising particle would (its cluster's calibrated
   energy, alone, below ``muon_max_energy`` and below ``muon_max_fraction`` of its momentum, or no
   cluster at all), else a *charged hadron*.
3. **Neutral particles.** A cluster's calibrated energy is ``em_scale``·E for an electromagnetic cluster,
   else ``hadron_ecal_scale``·E_ECAL + ``hadron_hcal_scale``·E_HCAL + E_other (the calorimeter's response
   to hadrons, :func:`calibrated_energy`). The energy beyond what its linked tracks' momenta explain, if it
   exceeds ``n_sigma`` times the expected resolution ``stochastic``·√Σp (and ``min_neutral_energy``),
   becomes a neutral particle on the cluster, along the cluster's direction: a photon for an
   electromagnetic cluster, else a neutral hadron. An unlinked cluster above ``min_neutral_energy`` is a
   photon or a neutral hadron likewise.

The calibration constants are measured on simulated events by ``scripts/calibrate_pf.py`` (training
events only) and written into the task config. Output: one PF_PARTICLE_FEATURES row per element (zeros:
no particle), as the CLIC files' ``ycand_*``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from src.event_model import PF_CLUSTER_FEATURES, PF_PARTICLE_FEATURES, PF_TRACK_FEATURES
from src.metrics.particle_flow import delta_r
from src.reco.pf_elements import position_angles
from src.reco.pf_targets import CLASS_PDG

_T = {name: i for i, name in enumerate(PF_TRACK_FEATURES)}
_C = {name: i for i, name in enumerate(PF_CLUSTER_FEATURES)}
_P = {name: i for i, name in enumerate(PF_PARTICLE_FEATURES)}
MASS = {"charged_hadron": 0.13957, "electron": 0.000511, "muon": 0.10566}


@dataclass(frozen=True)
class RuleBasedPF:
    """The rule-based particle flow (see the module docstring for each parameter)."""

    link_dr: float = 0.1
    em_fraction: float = 0.9
    em_scale: float = 1.0
    hadron_ecal_scale: float = 1.0
    hadron_hcal_scale: float = 1.0
    electron_ep: Sequence[float] = (0.7, 1.3)
    muon_min_p: float = 2.0
    muon_max_energy: float = 3.0
    muon_max_fraction: float = 0.5
    stochastic: float = 0.5
    n_sigma: float = 1.0
    min_neutral_energy: float = 0.5

    def calibrated_energy(self, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(calibrated energy, electromagnetic flag) of cluster elements [m, 17]."""
        energy = clusters[:, _C["energy"]].astype(np.float64)
        ecal, hcal = clusters[:, _C["energy_ecal"]], clusters[:, _C["energy_hcal"]]
        em = ecal >= self.em_fraction * np.maximum(energy, 1e-12)
        hadronic = (
            self.hadron_ecal_scale * ecal + self.hadron_hcal_scale * hcal + clusters[:, _C["energy_other"]]
        )
        return np.where(em, self.em_scale * energy, hadronic), em

    def links(self, event: Mapping[str, np.ndarray], clusters: np.ndarray) -> np.ndarray:
        """Cluster linked to each track (−1: none)."""
        n_tracks = len(event.get("track_pt", ()))
        link = np.full(n_tracks, -1, dtype=np.int64)
        if n_tracks == 0 or not len(clusters):
            return link
        x, y, z = (np.asarray(event[f"track_calo_{c}"], dtype=np.float64) for c in "xyz")
        eta, phi, _ = position_angles(x, y, z)
        c_eta, c_phi = (
            clusters[:, _C["eta"]],
            np.arctan2(clusters[:, _C["sin_phi"]], clusters[:, _C["cos_phi"]]),
        )
        dr = delta_r(eta[:, None], phi[:, None], c_eta[None], c_phi[None])
        dr[~np.isfinite(dr)] = np.inf  # a track that never reaches the calorimeter (NaN entrance point)
        nearest = np.argmin(dr, axis=1)
        close = dr[np.arange(n_tracks), nearest] < self.link_dr
        link[close] = nearest[close]
        return link

    def _mip(self, energy: float, p: float) -> bool:
        """Whether a track's cluster energy is no more than a muon's."""
        return energy < min(self.muon_max_energy, self.muon_max_fraction * p)

    def __call__(
        self, event: Mapping[str, np.ndarray], tracks: np.ndarray, clusters: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Candidate particles (ycand_track [n, 14], ycand_cluster [m, 14]) of an event's elements."""
        n, m = len(tracks), len(clusters)
        out_tracks = np.zeros((n, len(PF_PARTICLE_FEATURES)), dtype=np.float32)
        out_clusters = np.zeros((m, len(PF_PARTICLE_FEATURES)), dtype=np.float32)
        link = self.links(event, clusters)
        calibrated, em = self.calibrated_energy(clusters)
        p = tracks[:, _T["p"]].astype(np.float64)
        n_linked = np.bincount(link[link >= 0], minlength=m)
        for t in range(n):
            c = link[t]
            alone = c >= 0 and n_linked[c] == 1
            ep = calibrated[c] / max(p[t], 1e-12) if c >= 0 else 0.0
            if alone and em[c] and self.electron_ep[0] <= ep <= self.electron_ep[1]:
                cls = "electron"
            elif p[t] >= self.muon_min_p and (c < 0 or (alone and self._mip(calibrated[c], p[t]))):
                cls = "muon"
            else:
                cls = "charged_hadron"
            row = out_tracks[t]
            row[_P["PDG"]] = CLASS_PDG[cls]
            row[_P["charge"]] = np.sign(tracks[t, _T["omega"]]) or 1.0
            for k in ("pt", "eta", "sin_phi", "cos_phi"):
                row[_P[k]] = tracks[t, _T[k]]
            row[_P["energy"]] = np.hypot(p[t], MASS[cls])
        explained = np.bincount(link[link >= 0], weights=p[link >= 0], minlength=m)
        threshold = np.maximum(self.n_sigma * self.stochastic * np.sqrt(explained), self.min_neutral_energy)
        excess = calibrated - explained
        for c in np.flatnonzero(excess > threshold):
            row = out_clusters[c]
            row[_P["PDG"]] = CLASS_PDG["photon" if em[c] else "neutral_hadron"]
            eta = clusters[c, _C["eta"]]
            row[_P["pt"]] = excess[c] / np.cosh(eta)
            row[_P["eta"]] = eta
            row[_P["sin_phi"]], row[_P["cos_phi"]] = clusters[c, _C["sin_phi"]], clusters[c, _C["cos_phi"]]
            row[_P["energy"]] = excess[c]
        return out_tracks, out_clusters
