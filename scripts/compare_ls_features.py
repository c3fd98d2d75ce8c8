"""Simulated and real line segments side by side: the distribution of every LS feature, for true and for
fake segments, in the built-in simulation and in the real CMS LST events at the same pileup.

    python scripts/compare_ls_features.py --pileup 50 100 --sim-events 3

Writes ``<out>/ls_features_pu<μ>.png`` (one panel per feature: real true/fake in black, simulated in red,
each normalised to unit area) and ``<out>/ls_features_pu<μ>.md`` (per feature and class the
Kolmogorov-Smirnov distance between simulated and real, and the medians), so the features where the
simulation differs most stand out. Real events are read from ``--real-dir/pu<μ>/graph_N.pt``; simulated
ones are full events (no φ sector) of the default simulation at pileup μ.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import ks_2samp

from src.data.sources import event_seed, simulate_ls_event
from src.event_model import LS_FEATURE_NAMES
from src.io.hept_cms import find_graph_files, read_graph
from src.reco.lst import LSTConfig
from src.sim.tracker.config import TrackerSimConfig


def real_segments(directory: Path) -> tuple[np.ndarray, np.ndarray]:
    """Features [N, 23] and true-segment mask [N] of every real event of a directory."""
    events = [read_graph(p) for p in find_graph_files(directory)]
    return np.concatenate([e["x"] for e in events]), np.concatenate([e["particle_id"] >= 0 for e in events])


def simulated_segments(pileup: float, n_events: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features and true-segment mask of ``n_events`` full simulated events at ``pileup``."""
    cfg = TrackerSimConfig(pileup=pileup)
    lst = LSTConfig(b_field=cfg.b_field, phi_sector=None)
    events = [simulate_ls_event(cfg, lst, event_seed(seed, i)) for i in range(n_events)]
    return np.concatenate([e["x"] for e in events]), np.concatenate([e["particle_id"] >= 0 for e in events])


def compare(real: tuple[np.ndarray, np.ndarray], sim: tuple[np.ndarray, np.ndarray]) -> list[dict]:
    """Per feature and class: KS distance between simulated and real, and both medians."""
    rows = []
    for j, name in enumerate(LS_FEATURE_NAMES):
        for label, cls in (("true", True), ("fake", False)):
            r, s = real[0][real[1] == cls, j], sim[0][sim[1] == cls, j]
            rows.append(
                {
                    "feature": name,
                    "class": label,
                    "ks": float(ks_2samp(r, s).statistic),
                    "real_median": float(np.median(r)),
                    "sim_median": float(np.median(s)),
                }
            )
    return rows


def plot(
    real: tuple[np.ndarray, np.ndarray], sim: tuple[np.ndarray, np.ndarray], title: str, path: Path
) -> None:
    """One panel per feature: real (black) and simulated (red), true (solid) and fake (dashed)."""
    fig, axes = plt.subplots(4, 6, figsize=(24, 14))
    for j, (ax, name) in enumerate(zip(axes.flat, LS_FEATURE_NAMES, strict=False)):
        both = np.concatenate([real[0][:, j], sim[0][:, j]])
        lo, hi = np.quantile(both, [0.005, 0.995])
        bins = np.linspace(lo, hi + 1e-9, 61) if hi > lo else 30
        for (x, true), colour, source in ((real, "black", "real"), (sim, "tab:red", "sim")):
            for cls, style in ((True, "-"), (False, "--")):
                label = f"{source} {'true' if cls else 'fake'}"
                ax.hist(
                    x[true == cls, j],
                    bins=bins,
                    density=True,
                    histtype="step",
                    color=colour,
                    ls=style,
                    label=label,
                )
        ax.set_title(name)
        ax.set_yticks([])
    axes.flat[0].legend(fontsize=8)
    for ax in axes.flat[len(LS_FEATURE_NAMES) :]:
        ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Plot and tabulate every requested pileup."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--pileup", type=int, nargs="+", default=[50, 100])
    parser.add_argument("--sim-events", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--real-dir", type=Path, default=Path("../shared/data/hept-cms-lst"))
    parser.add_argument("--out", type=Path, default=Path("docs/results"))
    args = parser.parse_args(argv)
    for pileup in args.pileup:
        real = real_segments(args.real_dir / f"pu{pileup}")
        sim = simulated_segments(pileup, args.sim_events, args.seed)
        counts = (
            f"real: {len(real[1])} LS, {100 * (1 - real[1].mean()):.1f}% fake; "
            f"simulated: {len(sim[1])} LS, {100 * (1 - sim[1].mean()):.1f}% fake"
        )
        plot(
            real, sim, f"LS features at pileup {pileup} ({counts})", args.out / f"ls_features_pu{pileup}.png"
        )
        rows = sorted(compare(real, sim), key=lambda r: -r["ks"])
        lines = [
            f"*Written by `python scripts/compare_ls_features.py {shlex.join(sys.argv[1:])}`; plot: "
            f"ls_features_pu{pileup}.png.*",
            "",
            f"Pileup {pileup}: {counts}. Kolmogorov-Smirnov distance between simulated and real, per feature "
            "and class (largest first), and the medians (cm, GeV, rad).",
            "",
            "| feature | class | KS | real median | sim median |",
            "|---|---|---|---|---|",
            *(
                f"| {r['feature']} | {r['class']} | {r['ks']:.3f} | {r['real_median']:.4g} "
                f"| {r['sim_median']:.4g} |"
                for r in rows
            ),
        ]
        (args.out / f"ls_features_pu{pileup}.md").write_text("\n".join(lines) + "\n")
        print("\n".join(lines[2:16]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
