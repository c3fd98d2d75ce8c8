"""A rule-based particle flow: the classical reconstruction MLPF is measured against.

1. **Links and blocks.** Each track is extrapolated to the calorimeter entrance (``track_calo_x/y/z``) and
   linked to every cluster within ``link_dr`` in (η, φ) seen from the origin (a hadron shower often
   fragments into several clusters); tracks and clusters connected by links form a *block*.
2. **Calibration.** A cluster's calibrated energy is ``em_scale``·E when it is electromagnetic (ECAL
   fraction ≥ ``em_fraction``), else ``hadron_ecal_scale``·E_ECAL + ``hadron_hcal_scale``·E_HCAL + E_other
   (the calorimeter's response to hadrons).
3. **Charged particles.** Every track becomes a charged particle with its own momentum: an *electron*
   when it is alone in a block whose clusters are electromagnetic and whose calibrated energy matches the
   momentum (E/p in ``electron_ep``), a *muon* when its momentum is at least ``muon_min_p`` and it is alone
   in a block whose clusters hold no more than a minimum-ionising particle deposits (below
   ``muon_max_energy`` and ``muon_max_fraction`` of its momentum), else a *charged hadron* (a track that
   reaches no cluster too: without a muon system, a hadron whose shower was missed is the likelier).
4. **Neutral particles.** The calibrated energy of a block beyond its tracks' momenta, if it exceeds
   ``n_sigma`` times the expected resolution ``stochastic``·√Σp (and ``min_neutral_energy``), becomes one
   neutral particle on the block's most energetic cluster that is nearest to none of its tracks (else its
   most energetic cluster), along that cluster's direction: a photon if that cluster is electromagnetic,
   else a neutral hadron. A cluster linked to no track is a photon or a neutral hadron of its calibrated
   energy when that exceeds ``min_neutral_energy``.

The calibration constants and the link distance are measured on simulated training events by
``scripts/calibrate_pf.py``. Output: one PF_PARTICLE_FEATURES row per element (zeros: no particle), as the
CLIC files' ``ycand_*``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from src.event_model import PF_CLUSTER_FEATURES, PF_PARTICLE_FEATURES, PF_TRACK_FEATURES
from src.metrics.particle_flow import delta_r
from src.reco.pf_elements import position_angles
from src.reco.pf_targets import CLASS_PDG

_T = {name: i for i, name in enumerate(PF_TRACK_FEATURES)}
_C = {name: i for i, name in enumerate(PF_CLUSTER_FEATURES)}
_P = {name: i for i, name in enumerate(PF_PARTICLE_FEATURES)}
MASS = {"charged_hadron": 0.13957, "electron": 0.000511, "muon": 0.10566}


@dataclass(frozen=True)
class Links:
    """Track–cluster links of an event: ``distance`` [tracks, clusters] (ΔR, inf where the track never
    reaches the calorimeter), ``linked`` (distance < link_dr), each track's ``nearest`` linked cluster
    (−1: none) and each element's ``block`` (tracks first, then clusters)."""

    distance: np.ndarray
    linked: np.ndarray
    nearest: np.ndarray
    block: np.ndarray


@dataclass(frozen=True)
class RuleBasedPF:
    """The rule-based particle flow (see the module docstring for each parameter); ``link_dr`` and the
    energy scales are those ``scripts/calibrate_pf.py`` measured on the default dataset's training events."""

    link_dr: float = 0.15
    em_fraction: float = 0.9
    em_scale: float = 1.0
    hadron_ecal_scale: float = 1.2
    hadron_hcal_scale: float = 1.15
    electron_ep: Sequence[float] = (0.7, 1.3)
    muon_min_p: float = 6.0
    muon_max_energy: float = 3.0
    muon_max_fraction: float = 0.3
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

    def links(self, event: Mapping[str, np.ndarray], clusters: np.ndarray) -> Links:
        """Links and blocks of an event's tracks (``track_calo_*``) and cluster elements."""
        n, m = len(event.get("track_pt", ())), len(clusters)
        distance = np.full((n, m), np.inf)
        if n and m:
            x, y, z = (np.asarray(event[f"track_calo_{c}"], dtype=np.float64) for c in "xyz")
            eta, phi, _ = position_angles(x, y, z)
            c_phi = np.arctan2(clusters[:, _C["sin_phi"]], clusters[:, _C["cos_phi"]])
            distance = delta_r(eta[:, None], phi[:, None], clusters[None, :, _C["eta"]], c_phi[None])
            distance[~np.isfinite(distance)] = np.inf  # a track that never reaches the calorimeter
        linked = distance < self.link_dr
        nearest = np.where(linked.any(axis=1), np.argmin(distance, axis=1) if m else -1, -1)
        t, c = np.nonzero(linked)
        graph = coo_matrix((np.ones(len(t)), (t, n + c)), shape=(n + m, n + m))
        _, block = connected_components(graph, directed=False)
        return Links(distance, linked, nearest, block)

    def _mip(self, energy: float, p: float) -> bool:
        """Whether a track's block energy is no more than a muon's."""
        return energy < min(self.muon_max_energy, self.muon_max_fraction * p)

    def _track_class(self, p: float, n_tracks: int, energy: float, em: bool, has_clusters: bool) -> str:
        """Class of a track in a block of ``n_tracks`` tracks and calibrated cluster ``energy``."""
        alone = n_tracks == 1
        if (
            alone
            and has_clusters
            and em
            and self.electron_ep[0] <= energy / max(p, 1e-12) <= self.electron_ep[1]
        ):
            return "electron"
        if p >= self.muon_min_p and alone and has_clusters and self._mip(energy, p):
            return "muon"
        return "charged_hadron"

    def __call__(
        self, event: Mapping[str, np.ndarray], tracks: np.ndarray, clusters: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Candidate particles (ycand_track [n, 14], ycand_cluster [m, 14]) of an event's elements."""
        n, m = len(tracks), len(clusters)
        out_tracks = np.zeros((n, len(PF_PARTICLE_FEATURES)), dtype=np.float32)
        out_clusters = np.zeros((m, len(PF_PARTICLE_FEATURES)), dtype=np.float32)
        links = self.links(event, clusters)
        calibrated, em = self.calibrated_energy(clusters)
        p = tracks[:, _T["p"]].astype(np.float64)
        track_block, cluster_block = links.block[:n], links.block[n:]
        for b in np.unique(links.block):
            ts, cs = np.flatnonzero(track_block == b), np.flatnonzero(cluster_block == b)
            energy = float(calibrated[cs].sum())
            block_em = bool(len(cs)) and bool(em[cs].all())
            for t in ts:
                cls = self._track_class(p[t], len(ts), energy, block_em, bool(len(cs)))
                row = out_tracks[t]
                row[_P["PDG"]] = CLASS_PDG[cls]
                row[_P["charge"]] = np.sign(tracks[t, _T["omega"]]) or 1.0
                for k in ("pt", "eta", "sin_phi", "cos_phi"):
                    row[_P[k]] = tracks[t, _T[k]]
                row[_P["energy"]] = np.hypot(p[t], MASS[cls])
            if not len(cs):
                continue
            explained = float(p[ts].sum())
            excess = energy - explained
            threshold = self.min_neutral_energy
            if len(ts):
                threshold = max(threshold, self.n_sigma * self.stochastic * np.sqrt(explained))
            if excess <= threshold:
                continue
            free = np.setdiff1d(cs, links.nearest[ts])
            c = (free if len(free) else cs)[np.argmax(calibrated[free if len(free) else cs])]
            self._neutral(out_clusters[c], clusters[c], excess, em[c])
        return out_tracks, out_clusters

    @staticmethod
    def _neutral(row: np.ndarray, cluster: np.ndarray, energy: float, em: bool) -> None:
        """Fill ``row`` with a neutral particle of ``energy`` along the cluster's direction."""
        row[_P["PDG"]] = CLASS_PDG["photon" if em else "neutral_hadron"]
        eta = cluster[_C["eta"]]
        row[_P["pt"]] = energy / np.cosh(eta)
        row[_P["eta"]] = eta
        row[_P["sin_phi"]], row[_P["cos_phi"]] = cluster[_C["sin_phi"]], cluster[_C["cos_phi"]]
        row[_P["energy"]] = energy
