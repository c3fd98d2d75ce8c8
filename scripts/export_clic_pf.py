"""Write the events of a dataset config as PF events in the MLPF CLIC dataset layout (parquet files that
``dataset=clic_pf`` and the CLIC tools read): elements, targets, the rule-based PF's candidates, generator
jets and MET, through the view of ``task=particle_flow``.

    python scripts/export_clic_pf.py outputs/clic_pf/ttbar                         # the default dataset
    python scripts/export_clic_pf.py outputs/clic_pf/ttbar dataset.n_events=1000 --per-file 100
    python -m src.train task=particle_flow model=mlpf dataset=clic_pf dataset.path=outputs/clic_pf/ttbar
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from src.compose import build_datamodule, build_view, compose_config
from src.io.clic_pf import write_clic_pf

log = logging.getLogger("export_clic_pf")


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path, help="output directory")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of conf/train.yaml")
    parser.add_argument("--per-file", type=int, default=100, help="events per parquet file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cfg = compose_config(["task=particle_flow", *args.overrides])
    view = build_view(cfg)
    datamodule = build_datamodule(cfg, view)
    datamodule.prepare_data()
    source = datamodule.source
    n = len(source)
    for first in range(0, n, args.per_file):
        events = [view.pf_event(source.load(i)) for i in range(first, min(first + args.per_file, n))]
        path = write_clic_pf(args.out / f"events_{first:06d}.parquet", events)
        log.info("Wrote %d events to %s", len(events), path)


if __name__ == "__main__":
    main()
