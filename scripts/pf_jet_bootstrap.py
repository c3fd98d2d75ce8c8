"""Event-level bootstrap of the jet IQR/median difference between MLPF and the rule-based PF of one
particle-flow run (its ``jets.csv``): how much of the difference the test events' sampling explains.

    python scripts/pf_jet_bootstrap.py outputs/particle_flow-mlpf/runs/<time>
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def iqr_over_median(x: np.ndarray) -> float:
    """(p75 − p25) / p50 of ``x``."""
    p25, p50, p75 = np.percentile(x, [25, 50, 75])
    return float((p75 - p25) / p50)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dir", type=Path, help="a particle_flow run directory (with jets.csv)")
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    jets = pd.read_csv(args.run_dir / "jets.csv")
    events = jets.event.unique()
    by_event = {
        s: {e: g.response.to_numpy() for e, g in jets[jets.source == s].groupby("event")}
        for s in ("mlpf", "pf")
    }
    full = {s: iqr_over_median(np.concatenate(list(v.values()))) for s, v in by_event.items()}
    rng = np.random.default_rng(args.seed)
    diffs = []
    for _ in range(args.resamples):
        pick = rng.choice(events, len(events))
        v = {s: np.concatenate([r.get(e, np.zeros(0)) for e in pick]) for s, r in by_event.items()}
        diffs.append(iqr_over_median(v["mlpf"]) - iqr_over_median(v["pf"]))
    low, high = np.percentile(diffs, [16, 84])
    print(f"jet IQR/median: MLPF {full['mlpf']:.3f}, PF {full['pf']:.3f} ({len(events)} events)")
    print(f"MLPF - PF: {full['mlpf'] - full['pf']:+.3f}, 68% interval [{low:+.3f}, {high:+.3f}]")
    print(f"MLPF smaller in {np.mean(np.asarray(diffs) < 0):.0%} of {args.resamples} resamples")


if __name__ == "__main__":
    main()
