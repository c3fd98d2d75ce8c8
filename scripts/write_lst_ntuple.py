"""Write simulated events as a CMS LST ntuple (ROOT), the format ``dataset=lst_ntuple`` reads.

The events are those of ``dataset=sim_ls`` with the same pileup, seed and φ sector (event ``i`` of the
file is event ``i`` of that dataset), laid out as LST's ntuple writer does (``MD_*``, ``LS_*``, ``sim_*``
branches; see ``src/io/lst_ntuple.py``). Reading the file back gives exactly the simulation's own events.

    python scripts/write_lst_ntuple.py --out outputs/lst/sim_pu50.root --pileup 50 --n-events 10
    python -m src.train task=pileup dataset=lst_ntuple dataset.path=outputs/lst/sim_pu50.root
"""

from __future__ import annotations

import argparse
from pathlib import Path

from src.data.sources import event_seed, simulate_lst_ntuple_event
from src.io.lst_ntuple import write_lst_ntuple
from src.reco.lst import LSTConfig
from src.sim.tracker.config import TrackerSimConfig


def main() -> None:
    """Simulate, reconstruct and write the events; print a line per event."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="the .root file to write")
    parser.add_argument("--pileup", type=float, default=200.0, help="Poisson mean of pileup interactions")
    parser.add_argument("--n-events", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1, help="the dataset seed (dataset.seed of sim_ls)")
    parser.add_argument(
        "--phi-sector",
        type=float,
        nargs=2,
        default=(-0.19635, 0.19635),
        metavar=("LO", "HI"),
        help="keep the LS of this φ sector (sim_ls's default); --full for the whole detector",
    )
    parser.add_argument("--full", action="store_true", help="the whole detector (no φ sector)")
    parser.add_argument("--tree", default="tree")
    args = parser.parse_args()
    generator = TrackerSimConfig(pileup=args.pileup)
    lst = LSTConfig(b_field=generator.b_field, phi_sector=None if args.full else tuple(args.phi_sector))
    events = []
    for i in range(args.n_events):
        events.append(simulate_lst_ntuple_event(generator, lst, event_seed(args.seed, i)))
        print(f"event {i}: {len(events[-1]['LS_pt'])} LS, {len(events[-1]['MD_0_x'])} MD")
    print(f"wrote {write_lst_ntuple(args.out, events, tree=args.tree)}")


if __name__ == "__main__":
    main()
