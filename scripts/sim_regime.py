"""Regime check of the tracker simulation: LS count and fake fraction per event at several pileups, next
to the real CMS LST figures (HEPT-CMS study), plus the generation time per event.

    python scripts/sim_regime.py                       # μ = 50, 100, 200; 3 events each
    python scripts/sim_regime.py --pileup 200 --events 5 --sector -0.3927 0.3927
    python scripts/sim_regime.py --minbias own pythia  # pileup from the own spectra and from Pythia 8

Real figures are measured from ``--real-dir`` (``pu50/``, ``pu100/`` of graph_N.pt files) when it exists,
otherwise the published ones are shown.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from src.data.sources import simulate_ls_event
from src.reco.lst import LSTConfig
from src.sim.tracker.config import MINBIAS_SOURCES, TrackerSimConfig

#: Published figures (LS per event, fake fraction) of the HEPT-CMS LST events.
PUBLISHED = {50: "4963-6949 LS, 62-67% fake", 100: "17-25k LS, 79-84% fake", 200: "~98.5k LS, ~90% fake"}


def real_figures(real_dir: Path, pileup: int) -> str:
    """Mean ± std of the LS count and fake fraction of the real events at ``pileup``, if available."""
    files = sorted((real_dir / f"pu{pileup}").glob("graph_*.pt"))
    if not files:
        return PUBLISHED.get(pileup, "n/a")
    import torch
    from torch_geometric.data import Data
    from torch_geometric.data.data import DataEdgeAttr, DataTensorAttr
    from torch_geometric.data.storage import GlobalStorage

    counts, fakes = [], []
    with torch.serialization.safe_globals([Data, DataEdgeAttr, DataTensorAttr, GlobalStorage]):
        for path in files:
            pid = torch.load(path, weights_only=True).particle_id.numpy()
            counts.append(len(pid))
            fakes.append(float((pid < 0).mean()))
    return f"{_pm(counts, 0)} LS, {_pm(100 * np.array(fakes), 1)}% fake ({len(files)} events)"


def _pm(values: list[float] | np.ndarray, digits: int) -> str:
    """'mean ± std' of ``values``."""
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


def main() -> None:
    """Simulate the requested events and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pileup", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--events", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sector", type=float, nargs=2, default=None, metavar=("LO", "HI"))
    parser.add_argument("--real-dir", type=Path, default=Path("../shared/data/hept-cms-lst"))
    parser.add_argument("--minbias", nargs="+", choices=MINBIAS_SOURCES, default=["own"])
    args = parser.parse_args()

    start = time.perf_counter()
    _ = LSTConfig().module_map
    print(f"detector and module map built in {time.perf_counter() - start:.1f} s (once per process)")
    simulate_ls_event(
        TrackerSimConfig(pileup=1.0), LSTConfig(), seed=0
    )  # warm-up: lookup tables, allocations
    scope = f"φ sector {args.sector}" if args.sector else "full events"
    print(f"{args.events} events per pileup, {scope}\n")
    header = f"{'μ':>4} | {'minbias':>7} | {'sim LS / event':>17} | {'sim fake %':>11} | {'CPU s/event':>11}"
    print(f"{header} | real")
    for pileup in args.pileup:
        for minbias in args.minbias:
            cfg = TrackerSimConfig(pileup=float(pileup), minbias=minbias)
            if minbias == "pythia":  # Pythia's initialisation (~9 s, once per process) is not timed
                simulate_ls_event(TrackerSimConfig(pileup=1.0, minbias=minbias), LSTConfig(), seed=0)
            lst = LSTConfig(b_field=cfg.b_field, phi_sector=tuple(args.sector) if args.sector else None)
            counts, fakes, cpu = [], [], []
            for k in range(args.events):
                t0 = time.process_time()
                event = simulate_ls_event(cfg, lst, seed=args.seed + k)
                cpu.append(time.process_time() - t0)
                counts.append(len(event["particle_id"]))
                fakes.append(100.0 * float((event["particle_id"] < 0).mean()))
            row = (
                f"{pileup:>4} | {minbias:>7} | {_pm(counts, 0):>17} | {_pm(fakes, 1):>11} | {_pm(cpu, 2):>11}"
            )
            print(f"{row} | {real_figures(args.real_dir, pileup)}")


if __name__ == "__main__":
    main()
