"""Tune the topological clustering of ``dataset=sim_calo`` on validation events and print a table.

Events are those of the validation split of a ``sim_calo`` dataset of ``--n-events`` events (the
dataset's seed and split, ``split_indices`` of the DataModule); ``--split test`` reports the chosen
setting on the test events, once it is chosen: single photons,
π+ and K0L at a few energies in the ``clic`` barrel, close-by pairs (γγ and π+γ within ΔR < 0.05) and
Pythia e+e− → tt̄ at 380 GeV. Each event is simulated once without clustering; every candidate setting
then clusters the same hits. Per sample and setting: clusters per event and per particle, the share of
a particle's energy in its leading cluster (containment), noise and single-hit clusters, for pairs the
share of events where both particles are found (each has its own cluster with > 50% of its energy and
> 50% purity), for tt̄ the energy-weighted efficiency and purity, and the clustering time per event.

    python scripts/tune_topo.py                          # the grid, 30 validation events per sample
    python scripts/tune_topo.py --only default conf      # the old defaults against conf/dataset/sim_calo.yaml
    python scripts/tune_topo.py --set seed_mip=0.5 --set layer_reach=2
    python scripts/tune_topo.py --only default conf --split test --n 50   # report, after choosing on val
    python scripts/tune_topo.py --only default conf --samples \
        --real ../shared/data/edm4hep/clic_gamma_barrel_10events.root --chain 20   # real CLIC photons vs
                                                                # Pandora; whole-chain time per tt̄ event
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from hydra.utils import instantiate

from src.data.calo import CaloChain
from src.data.datamodule import split_indices
from src.data.sources import event_seed
from src.io.edm4hep.reader import read_events
from src.metrics.calo_clusters import ClusterCounts, cluster_counts, match_clusters
from src.metrics.cluster_fragments import FragmentCounts, fragment_counts
from src.reco.topo_clustering import TopoClustering
from src.sim.calo.simulate import CaloSimulator
from src.sim.generators.gun import ParticleGun

REPO = Path(__file__).resolve().parents[1]
#: The settings of the clustering before this tuning (ATLAS-like 4-2-0 in noise σ, nothing else).
OLD_DEFAULT: dict[str, Any] = {"seed_threshold": 4.0, "neighbour_threshold": 2.0, "cell_threshold": 0.0}
#: Particles below this energy (GeV) in the calorimeter are not counted in the per-particle figures.
MIN_PARTICLE_ENERGY = 0.1


def gun(pdg: list[int], energy: float, n_particles: int = 1, delta_r: float | None = None) -> ParticleGun:
    """Particles of fixed energy in the barrel (|η| < 0.8), optionally close-by within ``delta_r``."""
    return ParticleGun(
        pdg=pdg, n_particles=n_particles, energy=energy, energy_sampling="uniform", eta=[-0.8, 0.8],
        phi=[-3.14159, 3.14159], mirror_eta=False, delta_r=delta_r, vertex=[0.0, 0.0, 0.0],
    )  # fmt: skip


def ttbar() -> Any:
    """The Pythia e+e− → tt̄ generator of ``conf/generator/ee_ttbar.yaml``."""
    cfg = yaml.safe_load((REPO / "conf" / "generator" / "ee_ttbar.yaml").read_text())
    cfg.pop("defaults")
    return instantiate({"_target_": "src.sim.generators.pythia.PythiaGenerator", **cfg})


SAMPLES: dict[str, Callable[[], Any]] = {
    "photon 2": lambda: gun([22], 2.0),
    "photon 10": lambda: gun([22], 10.0),
    "photon 50": lambda: gun([22], 50.0),
    "pi+ 2": lambda: gun([211], 2.0),
    "pi+ 10": lambda: gun([211], 10.0),
    "pi+ 50": lambda: gun([211], 50.0),
    "K0L 10": lambda: gun([130], 10.0),
    "K0L 50": lambda: gun([130], 50.0),
    "2 photons 10": lambda: gun([22], 10.0, n_particles=2, delta_r=0.05),
    "pi+ photon 10": lambda: gun([211, 22], 10.0, n_particles=2, delta_r=0.05),
    "ttbar": ttbar,
}
#: Samples scored as pairs (both particles found?).
PAIRS = ("2 photons 10", "pi+ photon 10")


def detector() -> CaloSimulator:
    """The detector of ``conf/detector/clic.yaml``."""
    cfg = yaml.safe_load((REPO / "conf" / "detector" / "clic.yaml").read_text())
    return CaloSimulator(**{k: v for k, v in cfg.items() if k not in ("defaults", "_target_")})


def conf_clustering() -> dict[str, Any]:
    """The clustering options of ``conf/dataset/sim_calo.yaml``."""
    return dict(yaml.safe_load((REPO / "conf" / "dataset" / "sim_calo.yaml").read_text())["clustering"])


def split_seeds(n_events: int, n: int, split: str = "val") -> list[int]:
    """Event seeds of the first ``n`` events of the ``split`` (val or test) of a default ``sim_calo``
    dataset of ``n_events`` events."""
    cfg = yaml.safe_load((REPO / "conf" / "dataset" / "sim_calo.yaml").read_text())
    loader = yaml.safe_load((REPO / "conf" / "loader" / "default.yaml").read_text()) or {}
    _, val, test = split_indices(n_events, cfg["split"], seed=int(loader.get("split_seed", 0)))
    chosen = {"val": val, "test": test}[split]
    if len(chosen) < n:
        raise ValueError(f"--n-events {n_events} has {len(chosen)} {split} events, fewer than --n {n}")
    return [event_seed(int(cfg["seed"]), i) for i in chosen[:n]]


def simulate(name: str, det: CaloSimulator, seeds: list[int]) -> list[dict[str, np.ndarray]]:
    """The events of a sample, without clustering."""
    chain = CaloChain(SAMPLES[name](), det, decays=True, tracks=False, clustering=None)
    return [chain(s) for s in seeds]


def truth(event: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hit, particle, energy) contributions, particles mapped to the one that entered the calorimeter."""
    ptr = event["hit_contrib_ptr"]
    hit = np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))
    particle = event["hit_contrib_particle"].astype(np.int64)
    entry = event["gen_calo_entry"].astype(np.int64)
    particle = np.where(particle >= 0, entry[particle.clip(0)], -1)
    return hit, particle, event["hit_contrib_energy"].astype(np.float64)


def score(name: str, events: list[dict[str, np.ndarray]], clustering: TopoClustering) -> dict[str, float]:
    """The figures of one sample under one setting (see the module docstring)."""
    frag, counts, both, seconds = FragmentCounts(), ClusterCounts(), [], 0.0
    for event in events:
        start = time.process_time()
        labels, _ = clustering.cluster(event)
        seconds += time.process_time() - start
        hit, particle, energy = truth(event)
        kw = {"labels": labels, "hit_energy": event["hit_energy"], "contrib_hit": hit,
              "contrib_particle": particle, "contrib_energy": energy}  # fmt: skip
        frag += fragment_counts(**kw, min_particle_energy=MIN_PARTICLE_ENERGY)
        match = match_clusters(**kw)
        counts += cluster_counts(match, min_particle_energy=MIN_PARTICLE_ENERGY)
        if name in PAIRS:
            particles = match.particles[match.particles["energy"] >= MIN_PARTICLE_ENERGY]
            both.append(len(particles) == 2 and bool(particles["found"].all()))
    rates, matched = frag.rates(), counts.rates()
    return {
        "clusters": rates["clusters"],
        "per_particle": rates["clusters_per_particle"],
        "signif": rates["significant_per_particle"],
        "containment": rates["containment"],
        "noise_cl": rates["noise_clusters"],
        "single_hit": rates["single_hit_clusters"],
        "both_found": float(np.mean(both)) if both else float("nan"),
        "efficiency": matched["efficiency"],
        "purity": matched["purity"],
        "ms": 1e3 * seconds / max(len(events), 1),
    }


def grid() -> dict[str, dict[str, Any]]:
    """The candidate settings: the old defaults; seeds of one MIP (and of half a MIP, once) × layer reach ×
    neighbour distance × merging of fragments (energy, cone) × splitting at local maxima in the ECAL."""
    out = {"default": dict(OLD_DEFAULT), "mip0.5": OLD_DEFAULT | {"seed_mip": 0.5}}
    merging = [(0.5, 0.05), (1.0, 0.05), (2.0, 0.05), (2.0, 0.1), (3.0, 0.05)]
    for reach, factor, (frag, cone), peak in itertools.product((2, 3), (1.5, 2.5), merging, (0.0, 0.5)):
        key = f"reach{reach}-nb{factor}-frag{frag}-cone{cone}-peak{peak}"
        out[key] = OLD_DEFAULT | {
            "seed_mip": 1.0, "layer_reach": reach, "neighbour_factor": factor, "fragment_energy": frag,
            "merge_cone": cone, "peak_energy": peak, "peak_subdetectors": ["ecal_barrel", "ecal_endcap"],
        }  # fmt: skip
    out["mip0.5-reach3-nb2.5-frag2.0-cone0.05-peak0.5"] = out["reach3-nb2.5-frag2.0-cone0.05-peak0.5"] | {
        "seed_mip": 0.5
    }
    return out


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per setting: mean containment and significant clusters per particle over the single particles, mean
    share of pairs with both found, tt̄ efficiency, purity and ms/event, and ``score`` (the sum of the
    containment, the pairs' share and the tt̄ efficiency), best first."""
    single = table[~table["sample"].isin([*PAIRS, "ttbar"])].groupby("setting")
    out = pd.DataFrame({"containment": single["containment"].mean(), "signif": single["signif"].mean()})
    out["both_found"] = table[table["sample"].isin(PAIRS)].groupby("setting")["both_found"].mean()
    tt = table[table["sample"] == "ttbar"].set_index("setting")
    for key in ("efficiency", "purity", "clusters", "ms"):
        out[f"ttbar_{key}"] = tt[key] if len(tt) else float("nan")
    out["score"] = out[["containment", "both_found", "ttbar_efficiency"]].sum(axis=1, min_count=1)
    return out.sort_values("score", ascending=False)


def real_file(path: Path, settings: dict[str, dict[str, Any]], fixed: dict[str, Any]) -> pd.DataFrame:
    """Per setting, on an EDM4hep file's events (e.g. the real CLIC photons): clusters per event, the share
    of the clustered energy in the leading cluster, and the file's own clusters (e.g. PandoraClusters)."""
    events = read_events(path)
    rows = []
    for key, options in settings.items():
        clustering = TopoClustering(**fixed, **options)
        n, share, seconds = [], [], 0.0
        for event in events:
            start = time.process_time()
            labels, n_clusters = clustering.cluster(event)
            seconds += time.process_time() - start
            energy = np.bincount(
                labels[labels >= 0], weights=event["hit_energy"][labels >= 0], minlength=n_clusters
            )
            n.append(n_clusters)
            share.append(energy.max() / energy.sum() if n_clusters else float("nan"))
        rows.append({"setting": key, "clusters": np.mean(n), "leading_share": np.nanmean(share),
                     "file_clusters": np.mean([len(e["cluster_energy"]) for e in events]),
                     "ms": 1e3 * seconds / len(events)})  # fmt: skip
    return pd.DataFrame(rows)


def chain_timing(n: int, settings: dict[str, dict[str, Any]], det: CaloSimulator) -> pd.DataFrame:
    """Per setting: CPU ms per event of the whole ``sim_calo`` chain (Pythia tt̄, decays, calorimeter,
    tracks, clustering) over ``n`` validation events, after one warm-up event."""
    generator, seeds, rows = ttbar(), split_seeds(1000, n), []
    for key, options in settings.items():
        chain = CaloChain(generator, det, decays=True, tracks=True, clustering=options)
        chain(seeds[0])
        start = time.process_time()
        for seed in seeds:
            chain(seed)
        rows.append({"setting": key, "chain_ms": 1e3 * (time.process_time() - start) / n})
    return pd.DataFrame(rows)


def parse_value(text: str) -> Any:
    """A ``--set`` value as YAML (numbers, lists, null)."""
    return yaml.safe_load(text)


def main() -> None:
    """Simulate the validation events once, cluster them with every setting, print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=30, help="validation events per sample")
    parser.add_argument(
        "--n-events", type=int, default=1000, help="size of the dataset whose val split is used"
    )
    parser.add_argument(
        "--split", default="val", choices=["val", "test"], help="test: only to report the chosen setting"
    )
    parser.add_argument("--samples", nargs="*", default=list(SAMPLES), choices=list(SAMPLES))
    parser.add_argument("--only", nargs="*", help="settings of the grid to run ('conf': the dataset config)")
    parser.add_argument("--set", action="append", default=[], help="one extra setting: key=value on conf")
    parser.add_argument(
        "--real", type=Path, help="also cluster this EDM4hep file's events (real CLIC photons)"
    )
    parser.add_argument(
        "--chain", type=int, default=0, help="also time the whole tt̄ chain on this many events"
    )
    parser.add_argument("--csv", type=Path, help="also write the table here")
    args = parser.parse_args()
    det = detector()
    settings = grid() | {"conf": conf_clustering()}
    if args.set:
        settings["set"] = conf_clustering() | {
            k: parse_value(v) for k, v in (item.split("=", 1) for item in args.set)
        }
    if args.only:
        settings = {k: v for k, v in settings.items() if k in args.only or k == "set"}
    geometry = det.cell_geometry()
    fixed = {"noise": det.noise_by_subdetector(), "mip": det.mip_by_subdetector(), **geometry}
    seeds = split_seeds(args.n_events, args.n, args.split)
    rows = []
    for name in args.samples:
        start = time.perf_counter()
        events = simulate(name, det, seeds)
        print(f"# {name}: {len(events)} events simulated in {time.perf_counter() - start:.1f} s", flush=True)
        for key, options in settings.items():
            rows.append(
                {"sample": name, "setting": key, **score(name, events, TopoClustering(**fixed, **options))}
            )
    table = pd.DataFrame(rows)
    if len(table):
        with pd.option_context(
            "display.max_rows", None, "display.width", 200, "display.float_format", "{:.3f}".format
        ):
            print(table.to_string(index=False))
            print("# per setting, best first")
            print(summary(table).to_string())
    if args.csv:
        table.to_csv(args.csv, index=False)
    if args.chain:
        print(f"# whole sim_calo chain, Pythia tt̄, {args.chain} validation events")
        print(chain_timing(args.chain, settings, det).to_string(index=False, float_format="{:.0f}".format))
    if args.real:
        with pd.option_context("display.width", 200, "display.float_format", "{:.3f}".format):
            print(f"# {args.real}")
            print(real_file(args.real, settings, fixed).to_string(index=False))


if __name__ == "__main__":
    main()
