"""Sources of TICL events (tracksters with their truth) for the linking task.

``dataset=ticl_sim`` simulates them: signal and pileup through the HGCAL simulation, then CLUE and CLUE3D
(:class:`SimulatedTICLSource`). ``dataset=ticl_ntuple`` reads ticlDumper ROOT ntuples
(:mod:`src.io.ticl_dumper`): a file, or a directory of ``*.root`` files read in name order, every event
of every file (or the first ``n_events``).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from src.data.cache import Event, EventCache, fingerprint, to_tensors
from src.data.datamodule import EventDataModule
from src.data.sources import event_seed
from src.io.ticl_dumper import SIM_TRACKSTERS, TRACKSTERS, check_ticl_event, read_ticl_dumper
from src.reco.ticl import TICLConfig, reconstruct
from src.sim.decays import decay_in_flight
from src.sim.pileup import luminous_region as draw_vertices
from src.sim.pileup import overlay, select


def ntuple_files(path: str | Path) -> list[Path]:
    """The ROOT files of ``path`` (a file, or a directory's ``*.root`` in name order)."""
    path = Path(path).expanduser()
    files = [path] if path.is_file() else sorted(path.glob("*.root")) if path.is_dir() else []
    if not files:
        raise FileNotFoundError(
            f"dataset.path={path}: no ticlDumper ntuple (.root) there; give a file or a directory of them"
        )
    return files


class TICLNtupleSource:
    """Every event of a set of ticlDumper ntuples, read once at ``prepare`` and kept in memory."""

    def __init__(
        self,
        path: str | Path,
        *,
        n_events: int | None,
        trackster_tree: str,
        sim_tree: str,
        max_event_size: int | None = None,
    ) -> None:
        self.files = ntuple_files(path)
        self.n_events, self.trackster_tree, self.sim_tree = n_events, trackster_tree, sim_tree
        self.max_event_size = max_event_size
        digest = hashlib.sha256()
        for f in self.files:
            digest.update(f.name.encode())
            digest.update(f.read_bytes())
        spec = {"source": "ticl_ntuple", "content": digest.hexdigest(), "trees": [trackster_tree, sim_tree]}
        self.fingerprint = fingerprint(spec | {"n_events": n_events})
        self._events: list[Event] | None = None

    def prepare(self, *, progress: bool = True) -> None:
        del progress
        if self._events is not None:
            return
        events: list[tuple[dict, Path, int]] = []
        for f in self.files:
            read = read_ticl_dumper(f, trackster_tree=self.trackster_tree, sim_tree=self.sim_tree)
            events += [(e, f, entry) for entry, e in enumerate(read)]
            if self.n_events is not None and len(events) >= self.n_events:
                break
        self._events = events[: self.n_events] if self.n_events is not None else events

    def __len__(self) -> int:
        self.prepare()
        return len(self._events)

    def load(self, index: int) -> Event:
        """Event ``index``, checked (a :class:`src.io.errors.BadEventError` names its file and entry)."""
        self.prepare()
        event, path, entry = self._events[index]
        check_ticl_event(event, path=path, entry=entry, max_event_size=self.max_event_size)
        return to_tensors(event)


def ticl_ntuple(
    *,
    view: Any,
    path: str | Path,
    n_events: int | None,
    trackster_tree: str = TRACKSTERS,
    sim_tree: str = SIM_TRACKSTERS,
    max_event_size: int | None = None,
    **loader: Any,
) -> EventDataModule:
    """TICL events of ticlDumper ntuples (``dataset.path``: a file or a directory of them)."""
    source = TICLNtupleSource(
        path,
        n_events=n_events,
        trackster_tree=trackster_tree,
        sim_tree=sim_tree,
        max_event_size=max_event_size,
    )
    return EventDataModule(source, view, **loader)


#: Bump when the simulation-to-tracksters chain changes in a way that invalidates cached TICL events.
TICL_SIM_VERSION = 1


def _describe(step: Any) -> Any:
    """Settings of a generator or detector (its ``describe()``), None for none."""
    return None if step is None else step.describe()


def describe_ticl_event(event: Event) -> str:
    """One-line summary: tracksters, layer clusters, simulated particles (signal)."""
    signal = int((event["sim_interaction"] == 0).sum())
    return (
        f"{len(event['trackster_raw_energy']):5d} tracksters, {len(event['lc_energy']):6d} layer clusters, "
        f"{len(event['sim_pdg']):5d} particles ({signal} signal)"
    )


class SimulatedTICLSource:
    """TICL events of the built-in simulation, cached per event: a signal ``generator`` (e.g. the close-by
    particle gun) overlaid with Poisson(``pileup``) interactions of ``pileup_generator`` (pp minimum
    bias) in a Gaussian luminous region, optional ``decays`` in flight, the calorimeter ``detector``
    (HGCAL), then the TICL reconstruction (:func:`src.reco.ticl.reconstruct`). With ``decays`` K0S, Λ and
    the other long-lived hyperons decay in flight before the calorimeter (:mod:`src.sim.decays`), in each
    interaction before the overlay, so decay products keep their interaction. With ``reco.z_sign``
    ±1 only pileup particles flying towards that endcap are simulated. The cache key is a fingerprint of every
    step's settings, the seed and :data:`TICL_SIM_VERSION`."""

    def __init__(
        self,
        generator: Any,
        detector: Any,
        *,
        pileup_generator: Any,
        pileup: float,
        sigma_z: float,
        sigma_t: float,
        reco: TICLConfig,
        decays: bool,
        n_events: int,
        seed: int,
        cache_dir: str | Path,
    ) -> None:
        if n_events < 1 or pileup < 0:
            raise ValueError(
                f"dataset.n_events must be >= 1 and dataset.pileup >= 0, got {n_events}, {pileup}"
            )
        if pileup > 0 and pileup_generator is None:
            raise ValueError(f"dataset.pileup={pileup} needs dataset.pileup_generator (e.g. pp_minbias)")
        self.generator, self.detector, self.decays = generator, detector, bool(decays)
        self.pileup_generator, self.pileup = pileup_generator, float(pileup)
        self.sigma_z, self.sigma_t, self.reco = sigma_z, sigma_t, reco
        self.n_events, self.seed = n_events, seed
        spec = {
            "source": "ticl_sim",
            "version": TICL_SIM_VERSION,
            "seed": seed,
            "generator": _describe(generator),
            "pileup": self.pileup,
            "pileup_generator": _describe(pileup_generator) if self.pileup > 0 else None,
            "luminous_region": [sigma_z, sigma_t],
            "decays": self.decays,
            "detector": _describe(detector),
            "reco": dataclasses.asdict(reco),
        }
        self.cache = EventCache(cache_dir, "ticl_sim", spec)
        self.fingerprint = self.cache.fingerprint

    def __len__(self) -> int:
        return self.n_events

    def calo_event(self, index: int) -> tuple[dict[str, np.ndarray], np.ndarray, int]:
        """The calorimeter event ``index`` (signal + pileup, simulated), its hits' noise σ and the seed of
        its reconstruction."""
        seeds = np.random.SeedSequence(event_seed(self.seed, index)).generate_state(5)

        def sub_seed(k: int, step: int) -> int:
            return int(np.random.SeedSequence([int(seeds[step]), k]).generate_state(1)[0])

        def decayed(gen: dict[str, np.ndarray], k: int) -> dict[str, np.ndarray]:
            gen = {key: v for key, v in gen.items() if key != "gen_interaction"}  # the overlay sets it
            if not self.decays:
                return gen
            return decay_in_flight(gen, np.random.default_rng(sub_seed(k, 3)), inside=self.detector.inside)

        signal = decayed(self.generator(int(seeds[0])), 0)
        rng = np.random.default_rng(int(seeds[1]))
        n_pu = int(rng.poisson(self.pileup)) if self.pileup > 0 else 0
        pileups = []
        for k in range(n_pu):
            pu = self.pileup_generator(sub_seed(k, 2))
            if self.reco.z_sign:
                pu = select(pu, np.sign(pu["gen_pz"]) == self.reco.z_sign)
            pileups.append(decayed(pu, k + 1))
        z, t = draw_vertices(rng, n_pu, sigma_z=self.sigma_z, sigma_t=self.sigma_t)
        event = self.detector(overlay(signal, pileups, vertex_z=z, vertex_t=t), int(seeds[4]))
        noise = self.detector.noise_sigma(event["hit_subdetector"], event["hit_layer"])
        return event, noise, int(seeds[0]) ^ int(seeds[4])

    def _make(self, index: int) -> Event:
        event, noise, seed = self.calo_event(index)
        return to_tensors(reconstruct(event, self.reco, noise=noise, seed=seed))

    def prepare(self, *, progress: bool = True) -> None:
        self.cache.build(self.n_events, self._make, describe=describe_ticl_event, progress=progress)

    def load(self, index: int) -> Event:
        return self.cache.load(index)


def simulated_tracksters(
    *,
    view: Any,
    generator: Any,
    detector: Any,
    pileup_generator: Any,
    pileup: float,
    luminous_region: Mapping[str, float],
    decays: bool,
    reco: Mapping[str, Any],
    n_events: int,
    seed: int,
    cache_dir: str | Path,
    **loader: Any,
) -> EventDataModule:
    """TICL events of the built-in simulation (signal + pileup → HGCAL → CLUE/CLUE3D); ``reco`` holds
    any :class:`src.reco.ticl.TICLConfig` field (``clue3d``: any CLUE3DConfig field)."""
    try:
        config = TICLConfig(**dict(reco or {}))
    except TypeError as err:
        raise TypeError(f"dataset.reco: {err} (allowed: the fields of src.reco.ticl.TICLConfig)") from err
    source = SimulatedTICLSource(
        generator,
        detector,
        pileup_generator=pileup_generator,
        pileup=pileup,
        sigma_z=float(luminous_region["sigma_z"]),
        sigma_t=float(luminous_region["sigma_t"]),
        reco=config,
        decays=decays,
        n_events=n_events,
        seed=seed,
        cache_dir=cache_dir,
    )
    return EventDataModule(source, view, **loader)
