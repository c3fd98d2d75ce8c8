"""Particle flow in the data layer: the PF view of an event and the source of CLIC-layout files.

:class:`PFView` turns an event into the PF elements a model reads: a calorimeter event (``gen_*``,
``hit_*``, ``track_*``, ``cluster_*`` of :mod:`src.event_model`, e.g. ``dataset=sim_calo`` or
``dataset=edm4hep``) is first made a PF event in the CLIC layout (elements, targets, the rule-based PF's
candidates, generator jets and MET: :func:`src.reco.pf_event.pf_event`); an event already in that layout
(``dataset=clic_pf``) is taken as it is. :class:`ClicPFSource` reads a directory (or one file) of CLIC
PF parquet files.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data

from src.data.cache import Event, fingerprint, to_tensors
from src.event_model import (
    PF_CLASS_PDG,
    PF_CLUSTER_FEATURES,
    PF_ELEMENT_WIDTH,
    PF_PARTICLE_KINEMATICS,
    PF_TRACK_FEATURES,
    InputSpec,
)
from src.io.clic_pf import read_clic_pf
from src.reco.jets import JetDefinition
from src.reco.pf_event import pf_event
from src.reco.pf_targets import TargetConfig
from src.reco.rule_based_pf import RuleBasedPF

#: Names of the element columns: track and cluster features share a column where they mean the same.
PF_FEATURE_NAMES: tuple[str, ...] = tuple(
    t if t == c else f"{t}|{c}" for t, c in zip((*PF_TRACK_FEATURES, "-"), PF_CLUSTER_FEATURES, strict=True)
)


def class_index(pdg: np.ndarray, charge: np.ndarray) -> np.ndarray:
    """Class id (index of PF_CLASSES) of PDG codes as the CLIC files write them; a code outside the list
    is a charged hadron when charged, else a neutral hadron."""
    pdg = np.abs(np.asarray(pdg, dtype=np.int64))
    out = np.where(np.asarray(charge) != 0, 1, 2)
    for i, code in enumerate(PF_CLASS_PDG):
        out = np.where(pdg == code, i, out)
    return out


def _pad(rows: np.ndarray) -> np.ndarray:
    return np.pad(np.asarray(rows, dtype=np.float32), ((0, 0), (0, PF_ELEMENT_WIDTH - rows.shape[1])))


def particles(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(class id [n], kinematics [n, 5]: pT, η, sin φ, cos φ, E) of PF_PARTICLE_FEATURES rows."""
    rows = np.asarray(rows, dtype=np.float32)[:, :PF_PARTICLE_KINEMATICS]
    return class_index(rows[:, 0], rows[:, 1]), rows[:, 2:7]


def calo_phi(tracks: np.ndarray, radius: float, z: float) -> np.ndarray:
    """Azimuth of the track elements' helices [n, 16] where they reach the barrel cylinder of ``radius`` or
    the endcap plane |z| = ``z`` (mm), whichever comes first: the azimuth of the helix point at transverse
    path length s from the perigee (a looper reaches the endcap after as many turns as it takes; one that
    reaches neither keeps φ0)."""
    col = {name: i for i, name in enumerate(PF_TRACK_FEATURES)}
    omega, tan_lambda = (
        tracks[:, col["omega"]].astype(np.float64),
        tracks[:, col["tanLambda"]].astype(np.float64),
    )
    half = 0.5 * radius * np.abs(omega)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_barrel = np.where(
            omega == 0,
            radius,
            np.where(half < 1, 2 * np.arcsin(np.minimum(half, 1.0)), np.inf) / np.abs(omega),
        )
        s_endcap = np.where(
            tan_lambda != 0, (np.sign(tan_lambda) * z - tracks[:, col["Z0"]]) / tan_lambda, np.inf
        )
    s = np.minimum(s_barrel, np.maximum(s_endcap, 0.0))
    s = np.where(np.isfinite(s), s, 0.0)
    # position after path s: (2/ω) sin(ωs/2) along φ0 − ωs/2, which points backwards past each half turn
    flip = np.where(np.sin(0.5 * np.abs(omega) * s) < 0, np.pi, 0.0)
    phi = np.arctan2(tracks[:, col["sin_phi"]], tracks[:, col["cos_phi"]]) - 0.5 * omega * s + flip
    return np.remainder(phi + np.pi, 2 * np.pi) - np.pi


class PFView:
    """PF elements as model inputs, their target particles and the rule-based PF's candidates.

    ``x`` [N, 17] holds the tracks' 16 features (zero-padded) then the clusters' 17, column 0 the element
    type (1 track, 2 cluster; ``inputs.object_types = 2``), raw: the task transforms and normalises.
    ``coords`` are (η, φ) of the elements where they meet the calorimeter: a cluster's position, a track's
    helix where it reaches the barrel (radius ``calo_radius``) or the endcap (|z| = ``calo_z``), mm
    (:func:`calo_phi`), so that a track sits next to its cluster for locality attention and kernels.
    Targets: ``y_class`` (PF_CLASSES index, 0 = none) and ``y_p4`` (pT, η, sin φ, cos φ, E) per element;
    the baseline likewise as ``cand_class``/``cand_p4``; per event ``genjet`` [k, 4], ``genmet`` [1] and,
    where the event has generator particles, ``gen_visible`` [k, 5]. ``charge`` is the sign of each
    track's curvature (0 for clusters).

    ``baseline``, ``jets``, ``targets`` and ``min_cluster_energy`` (GeV) define the PF event made from a
    calorimeter event (:func:`src.reco.pf_event.pf_event`).
    """

    def __init__(
        self,
        *,
        baseline: RuleBasedPF,
        jets: JetDefinition,
        targets: TargetConfig,
        calo_radius: float = 1500.0,
        calo_z: float = 2307.0,
        min_cluster_energy: float = 0.1,
    ) -> None:
        self.baseline, self.jets, self.targets = baseline, jets, targets
        self.calo_radius, self.calo_z = float(calo_radius), float(calo_z)
        self.min_cluster_energy = float(min_cluster_energy)
        self.feature_names = PF_FEATURE_NAMES
        self.inputs = InputSpec(
            feature_names=PF_FEATURE_NAMES, coords=("eta", "phi"), periodic=(False, True), object_types=2
        )

    def pf_event(self, event: Event) -> dict[str, np.ndarray]:
        """The CLIC-layout PF event of an event (made from a calorimeter event when needed)."""
        arrays = {k: v.numpy() if isinstance(v, torch.Tensor) else np.asarray(v) for k, v in event.items()}
        if "X_track" in arrays:
            return arrays
        if "gen_pdg" not in arrays:
            raise KeyError(
                f"the PF view needs a calorimeter event (gen_*, track_*, cluster_*: dataset=sim_calo or "
                f"edm4hep) or a CLIC PF event (dataset=clic_pf); this event has {sorted(arrays)[:6]}..."
            )
        return pf_event(
            arrays,
            baseline=self.baseline,
            jets=self.jets,
            targets=self.targets,
            min_cluster_energy=self.min_cluster_energy,
        )

    def __call__(self, event: Event) -> Data:
        pf = self.pf_event(event)
        x = np.concatenate([_pad(pf["X_track"]), _pad(pf["X_cluster"])])
        y_class, y_p4 = particles(np.concatenate([pf["ytarget_track"], pf["ytarget_cluster"]]))
        cand_class, cand_p4 = particles(np.concatenate([pf["ycand_track"], pf["ycand_cluster"]]))
        is_track = np.arange(len(x)) < len(pf["X_track"])
        charge = np.where(is_track, np.sign(x[:, PF_TRACK_FEATURES.index("omega")]), 0.0)
        phi = np.arctan2(x[:, 3], x[:, 4])
        phi[is_track] = calo_phi(x[is_track], self.calo_radius, self.calo_z)
        out = {
            "x": x,
            "coords": np.stack([x[:, 2], phi], axis=1),
            "y_class": y_class,
            "y_p4": y_p4,
            "cand_class": cand_class,
            "cand_p4": cand_p4,
            "charge": charge.astype(np.float32),
            "genjet": np.asarray(pf["genjet"], dtype=np.float32).reshape(-1, 4),
            "genmet": np.asarray(pf["genmet"], dtype=np.float32).reshape(1),
        }
        if "gen_visible" in pf:
            out["gen_visible"] = np.asarray(pf["gen_visible"], dtype=np.float32).reshape(-1, 5)
        return Data(**to_tensors(out), num_nodes=len(x))


class ClicPFSource:
    """Events of CLIC PF parquet files: ``path`` a ``.parquet`` file or a directory of them (sorted by
    name), at most ``n_events`` events (None: all); read once, kept in memory."""

    def __init__(self, path: str | Path, *, n_events: int | None = None) -> None:
        self.path = Path(path).expanduser()
        files = [self.path] if self.path.is_file() else sorted(self.path.glob("*.parquet"))
        if not files:
            raise FileNotFoundError(
                f"dataset.path={self.path}: no CLIC PF .parquet file there (write some with "
                f"scripts/export_clic_pf.py)"
            )
        self.files = files
        self.n_events = n_events
        digest = hashlib.sha256()
        for f in files:
            digest.update(f.name.encode())
            digest.update(f.read_bytes())
        self.fingerprint = fingerprint({"source": "clic_pf", "content": digest.hexdigest(), "n": n_events})
        self._events: list[dict[str, np.ndarray]] | None = None

    def _all(self) -> list[dict[str, np.ndarray]]:
        if self._events is None:
            events = [e for f in self.files for e in read_clic_pf(f)]
            self._events = events[: self.n_events] if self.n_events else events
        return self._events

    def __len__(self) -> int:
        return len(self._all())

    def prepare(self, *, progress: bool = True) -> None:
        del progress  # files are read on first use

    def load(self, index: int) -> Event:
        event = self._all()[index]
        return to_tensors({k: np.atleast_1d(v) if np.ndim(v) == 0 else v for k, v in event.items()})
