"""A quick look at EDM4hep files: per event, the calorimeter hits (and their energy sum), MC particles and
clusters the reader finds, then a total line.

    python -m src.io.edm4hep FILE [FILE ...] [--hits auto|reco|sim] [--particles NAME] [--clusters NAME]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from src.io.edm4hep.reader import EDM4hepReader
from src.io.edm4hep.rootfile import EDM4hepError


def describe(reader: EDM4hepReader) -> str:
    """One line: the file's layout and the collections read."""
    sel = reader.selection
    return (
        f"{reader.path}: {reader.n_events} events, {reader.layout} layout; hits: {', '.join(sel.hits)} "
        f"({sel.hit_type}); particles: {sel.particles or 'none'}; clusters: {sel.clusters or 'none'}; "
        f"tracks: {sel.tracks or 'none'}; lacks: {', '.join(sel.lacks) or 'nothing'}"
    )


def summary(reader: EDM4hepReader) -> list[str]:
    """The per-event table and the total line of one file."""
    lines = [
        describe(reader),
        f"{'event':>7} {'hits':>7} {'E_hits/GeV':>11} {'truth':>7} {'particles':>9} {'clusters':>8}",
    ]
    total = np.zeros(5)
    for i, ev in enumerate(reader.read()):
        row = np.array(
            [
                len(ev["hit_energy"]),
                float(ev["hit_energy"].sum(dtype=np.float64)),
                int((ev["hit_particle"] >= 0).sum()),
                len(ev["gen_pdg"]),
                len(ev["cluster_energy"]),
            ]
        )
        total += row
        lines.append(f"{i:>7d} {row[0]:>7.0f} {row[1]:>11.3f} {row[2]:>7.0f} {row[3]:>9.0f} {row[4]:>8.0f}")
    lines.append(
        f"{'total':>7} {total[0]:>7.0f} {total[1]:>11.3f} {total[2]:>7.0f} {total[3]:>9.0f} {total[4]:>8.0f}"
    )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Print the summary of each file; exit status 1 if a file cannot be read (the reason is printed)."""
    parser = argparse.ArgumentParser(prog="python -m src.io.edm4hep", description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", help="EDM4hep ROOT files")
    parser.add_argument("--hits", default="auto", choices=("auto", "reco", "sim"))
    parser.add_argument(
        "--particles", default=None, help="MCParticle collection (default: MCParticles, else the first)"
    )
    parser.add_argument(
        "--clusters", default=None, help="Cluster collection (default: Pandora's, else the first)"
    )
    args = parser.parse_args(argv)
    status = 0
    for path in args.files:
        try:
            with EDM4hepReader(
                path, hits=args.hits, particles=args.particles, clusters=args.clusters
            ) as reader:
                print("\n".join(summary(reader)))
        except (EDM4hepError, FileNotFoundError) as err:
            print(f"error: {err}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
